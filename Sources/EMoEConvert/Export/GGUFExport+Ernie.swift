import EMoECore
import EMoEFormats

extension GGUFExport {
  /// The llama.cpp architecture a GGUF export is written as.
  public enum Target: String, Sendable {
    /// `llama` (Mixtral-style MoE), or the source's own MoE architecture (`qwen3moe`): every
    /// layer routed, no shared expert.
    case llama
    /// `ernie4_5-moe`: dense leading layers (`leading_dense_block_count`), then MoE layers with
    /// an optional ungated shared expert. Its attention, RoPE (`LLAMA_ROPE_TYPE_NORM`), norms
    /// and tied output compute what `llama` computes, so a llama GGUF's tensors serve it as
    /// they are.
    case ernie = "ernie4_5-moe"
  }

  /// The architecture written for a container whose source is llama.cpp's `architecture`,
  /// exported with `used` of `experts` experts: the one place the choice is made.
  ///
  /// `llama` (the source's own Mixtral-style MoE) when every layer was converted and no layer
  /// has a shared block, else `ernie4_5-moe`. Another source architecture (`qwen3moe`) keeps its
  /// own name at k = E without shared blocks, its unconverted layers split into E experts of
  /// consecutive neurons (exact at k = E); otherwise it is `ernie4_5-moe`, which
  /// ``check()`` refuses for it, since ernie4_5-moe computes only a LLaMA model.
  static func target(
    architecture: String, experts: Int, used: Int, trivial: [Int],
    records: [ContainerLayerRecord]
  ) -> Target {
    let shared = records.contains { $0.sharedCount > 0 }
    if architecture != "llama" && used == experts && !shared { return .llama }
    return trivial.isEmpty && !shared ? .llama : .ernie
  }

  /// The architecture this export writes.
  ///
  /// - Throws: ``ConversionError`` when the container cannot be exported (as ``write(to:progress:)``).
  public func target() throws(ConversionError) -> Target { try check().target }

  /// The shared-expert width W of an ernie4_5-moe export: the largest of the converted layers'
  /// shared blocks and the widths of the unconverted layers after the first converted one (whose
  /// whole FFN becomes the shared expert).
  ///
  /// llama.cpp reads one `expert_shared_feed_forward_length` and one `expert_feed_forward_length`
  /// for every MoE layer, so narrower shared blocks are zero-padded to W (a zero row of Wg and Wu
  /// and a zero column of Wd add exactly 0) and every converted layer must have experts of one
  /// size.
  func ernieSharedWidth(_ layout: Layout) throws(ConversionError) -> Int {
    let file = container.path
    let records = layout.converted.values.sorted { $0.layer < $1.layer }
    let sizes = Set(records.flatMap(\.expertSizes))
    guard sizes.count == 1 else {
      throw .invalidInput(
        "\(file): the converted layers have experts of sizes \(sizes.sorted()); llama.cpp's "
          + "ernie4_5-moe reads one expert_feed_forward_length for every MoE layer")
    }
    let lead = records.first?.layer ?? 0
    var width = records.map(\.sharedCount).max() ?? 0
    for layer in layout.trivial where layer > lead {
      let block = "blk.\(layer)."
      var shapes: [[Int]] = []
      for role in ["ffn_gate", "ffn_up", "ffn_down"] {
        guard
          let info = container.tensorInfos.first(where: {
            $0.name == layout.stored(block + role + ".weight")
          })
        else {
          throw .invalidInput(
            "\(file): layer \(layer) was not converted and has no \(block + role).weight")
        }
        shapes.append(info.shape.dimensions)
      }
      let d = records.first?.hiddenSize ?? 0
      guard shapes[0].count == 2, shapes[0][1] == d, shapes[1] == shapes[0],
        shapes[2] == [d, shapes[0][0]]
      else {
        throw .invalidInput(
          "\(ErrorLocation(file: file, tensor: block + "ffn_gate.weight")): shapes \(shapes) are "
            + "not a gated FFN of width d = \(d)")
      }
      width = max(width, shapes[0][0])
    }
    return width
  }

  /// The metadata of an ernie4_5-moe export: the llama keys under the `ernie4_5-moe.` prefix,
  /// `feed_forward_length` the dense width n (of the leading dense layers), and the MoE keys.
  func ernieMetadata(
    _ llama: [(key: String, value: GGUFValue)], _ layout: Layout
  ) -> [(key: String, value: GGUFValue)] {
    let source = layout.architecture + "."
    let prefix = Target.ernie.rawValue + "."
    let records = layout.converted.values.sorted { $0.layer < $1.layer }
    let lead = records.first?.layer ?? 0
    let routed = records.first?.expertSizes.first ?? 0
    var result: [(key: String, value: GGUFValue)] = []
    for (key, value) in llama {
      if key == "general.architecture" {
        result.append((key, .string(Target.ernie.rawValue)))
      } else if key == source + "feed_forward_length" {
        let original = layout.metadata.first { $0.key == key }?.value ?? value
        result.append((prefix + "feed_forward_length", original))
      } else if key.hasPrefix(source) {
        result.append((prefix + key.dropFirst(source.count), value))
      } else {
        result.append((key, value))
      }
    }
    result += [
      (prefix + "expert_feed_forward_length", .uint32(UInt32(routed))),
      (prefix + "leading_dense_block_count", .uint32(UInt32(lead))),
      (prefix + "interleave_moe_layer_step", .uint32(1)),
    ]
    if layout.sharedWidth > 0 {
      result.append(
        (prefix + "expert_shared_feed_forward_length", .uint32(UInt32(layout.sharedWidth))))
    }
    return result
  }

  /// The MoE tensors of a converted layer in an ernie4_5-moe export: the routed experts as in
  /// the `llama` layout (rows after the shared block), and the shared block as the ungated
  /// shared expert zero-padded to the common width.
  func ernieExperts(
    _ record: ContainerLayerRecord, _ layout: Layout, _ reader: StoredTensors
  ) throws(ConversionError) -> [Output] {
    let shared = record.sharedCount
    var outputs: [Output]
    if shared == 0 {
      outputs = try experts(record, layout, reader)
    } else {
      outputs = try routedExperts(record, layout, reader)
    }
    if layout.sharedWidth > 0 {
      guard let wg = record.tensors[.wg], let wu = record.tensors[.wu], let wd = record.tensors[.wd]
      else {
        throw .invalidInput("\(container.path): layer \(record.layer) is not a gated FFN")
      }
      outputs += try sharedExpert(
        layer: record.layer, gate: wg, up: wu, rows: 0..<shared, down: .neuronMajor(wd),
        layout, reader)
    }
    return outputs.sorted { $0.plan.name < $1.plan.name }
  }

  /// The MoE tensors of a layer after the first converted one that the container left dense:
  /// its whole FFN as the shared expert, and E zero experts (a zero `ffn_down_exps` adds
  /// exactly 0, whatever llama.cpp selects), so the layer computes its dense FFN.
  func ernieDense(_ layer: Int, _ layout: Layout, _ reader: StoredTensors)
    throws(ConversionError) -> [Output]
  {
    let e = layout.experts
    let block = "blk.\(layer)."
    let gate = try reader.entry(layout.stored(block + "ffn_gate.weight"))
    let n = gate.shape[0]
    let d = gate.shape[1]
    let size = layout.converted.values.first?.expertSizes.first ?? 1
    var outputs = [
      Output(
        plan: .init(name: block + "ffn_gate_inp.weight", dtype: .f32, shape: [e, d]),
        bytes: { () throws(ConversionError) in [UInt8](repeating: 0, count: e * d * 4) }),
      Self.zeros(block + "ffn_gate_exps.weight", shape: [e, size, d]),
      Self.zeros(block + "ffn_up_exps.weight", shape: [e, size, d]),
      Self.zeros(block + "ffn_down_exps.weight", shape: [e, d, size]),
    ]
    outputs += try sharedExpert(
      layer: layer, gate: layout.stored(block + "ffn_gate.weight"),
      up: layout.stored(block + "ffn_up.weight"), rows: 0..<n,
      down: .rowMajor(layout.stored(block + "ffn_down.weight")), layout, reader)
    return outputs.sorted { $0.plan.name < $1.plan.name }
  }

  /// Where a shared expert's down projection is stored.
  enum DownSource {
    /// A converted layer's Wd, stored neuron-major `[n, d]`.
    case neuronMajor(String)
    /// A source GGUF's `ffn_down` `[d, n]`.
    case rowMajor(String)
  }

  /// `ffn_{gate,up,down}_shexp` of width W from rows `rows` of the gate and up matrices and the
  /// matching neurons of the down matrix, zero-padded to W; kept in their stored type when they
  /// fill W exactly, else F32.
  private func sharedExpert(
    layer: Int, gate: String, up: String, rows: Range<Int>, down: DownSource, _ layout: Layout,
    _ reader: StoredTensors
  ) throws(ConversionError) -> [Output] {
    let width = layout.sharedWidth
    let block = "blk.\(layer)."
    if rows.isEmpty {
      let d = try reader.entry(gate).shape[1]
      return [
        Self.zeros(block + "ffn_gate_shexp.weight", shape: [width, d]),
        Self.zeros(block + "ffn_up_shexp.weight", shape: [width, d]),
        Self.zeros(block + "ffn_down_shexp.weight", shape: [d, width]),
      ]
    }
    var outputs: [Output] = []
    for (name, suffix) in [(gate, "ffn_gate_shexp"), (up, "ffn_up_shexp")] {
      let entry = try reader.entry(name)
      let d = entry.shape[1]
      let keep = rows == 0..<width && Self.keepsBytes(entry)
      outputs.append(
        Output(
          plan: .init(
            name: block + suffix + ".weight", dtype: keep ? entry.dtype : .f32, shape: [width, d]),
          bytes: { () throws(ConversionError) in
            if keep { return try Self.rowBytes(reader, name, rows: rows) }
            var values = Array(
              try reader.floats(name)[(rows.lowerBound * d)..<(rows.upperBound * d)])
            values += [Float](repeating: 0, count: (width - rows.count) * d)
            return MatrixBytes.bytes(values)
          }))
    }
    switch down {
    case .rowMajor(let name):
      let entry = try reader.entry(name)
      let d = entry.shape[0]
      let n = entry.shape[1]
      let keep = n == width && Self.keepsBytes(entry)
      outputs.append(
        Output(
          plan: .init(
            name: block + "ffn_down_shexp.weight", dtype: keep ? entry.dtype : .f32,
            shape: [d, width]),
          bytes: { () throws(ConversionError) in
            if keep { return try reader.bytes(name) }
            let values = try reader.floats(name)
            var result = [Float](repeating: 0, count: d * width)
            for row in 0..<d {
              for column in 0..<n { result[row * width + column] = values[row * n + column] }
            }
            return MatrixBytes.bytes(result)
          }))
    case .neuronMajor(let name):
      let d = try reader.entry(name).shape[1]
      outputs.append(
        Output(
          plan: .init(name: block + "ffn_down_shexp.weight", dtype: .f32, shape: [d, width]),
          bytes: { () throws(ConversionError) in
            let values = try reader.floats(name)
            var result = [Float](repeating: 0, count: d * width)
            for (column, neuron) in rows.enumerated() {
              for row in 0..<d { result[row * width + column] = values[neuron * d + row] }
            }
            return MatrixBytes.bytes(result)
          }))
    }
    return outputs
  }

  /// The routed experts of a converted layer with a shared block: `ffn_gate_inp`, and the
  /// stored rows after the shared block as `ffn_{gate,up}_exps` and (times k) `ffn_down_exps`.
  private func routedExperts(
    _ record: ContainerLayerRecord, _ layout: Layout, _ reader: StoredTensors
  ) throws(ConversionError) -> [Output] {
    let e = layout.experts
    let d = record.hiddenSize
    let size = record.expertSizes.first ?? 0
    let rows = record.sharedCount..<record.intermediateSize
    let block = "blk.\(record.layer)."
    let scale = Float(layout.used)
    let routerScale = layout.scales[record.layer]?.scale ?? 1
    let zero = layout.used == layout.experts
    let routerName = record.tensors[.router]
    var outputs = [
      Output(
        plan: .init(name: block + "ffn_gate_inp.weight", dtype: .f32, shape: [e, d]),
        bytes: { () throws(ConversionError) in
          guard !zero, let routerName else { return [UInt8](repeating: 0, count: e * d * 4) }
          return MatrixBytes.bytes(try reader.floats(routerName).map { $0 * routerScale })
        })
    ]
    for (role, suffix) in [(ContainerLayerRecord.Role.wg, "ffn_gate_exps"), (.wu, "ffn_up_exps")] {
      guard let name = record.tensors[role] else { continue }
      let entry = try reader.entry(name)
      let keep = Self.keepsBytes(entry)
      outputs.append(
        Output(
          plan: .init(
            name: block + suffix + ".weight", dtype: keep ? entry.dtype : .f32, shape: [e, size, d]),
          bytes: { () throws(ConversionError) in
            if keep { return try Self.rowBytes(reader, name, rows: rows) }
            return MatrixBytes.bytes(
              Array(try reader.floats(name)[(rows.lowerBound * d)..<(rows.upperBound * d)]))
          }))
    }
    if let name = record.tensors[.wd] {
      outputs.append(
        Output(
          plan: .init(name: block + "ffn_down_exps.weight", dtype: .f32, shape: [e, d, size]),
          bytes: { () throws(ConversionError) in
            let values = try reader.floats(name)[(rows.lowerBound * d)..<(rows.upperBound * d)].map
            { $0 * scale }
            return values.withUnsafeBytes { raw in
              MatrixBytes.transposedBlocks(raw, experts: e, size: size, columns: d, elementBytes: 4)
            }
          }))
    }
    return outputs
  }

  /// A tensor of zeros in the smallest type llama.cpp computes for its shape: Q4_0 when the
  /// last axis is whole blocks of 32, else F16.
  ///
  /// All-zero bytes decode to 0 in both (a Q4_0 block with scale 0), so the tensor still adds
  /// exactly 0, at an eighth (Q4_0: 18 bytes per 32 values) or half of F32's size.
  static func zeros(_ name: String, shape: [Int]) -> Output {
    let dtype: DType = (shape.last ?? 0) % DType.q4_0.blockSize == 0 ? .q4_0 : .f16
    let count = dtype.byteCount(elementCount: shape.reduce(1, *)) ?? 0
    return Output(
      plan: .init(name: name, dtype: dtype, shape: Shape(shape)),
      bytes: { () throws(ConversionError) in [UInt8](repeating: 0, count: count) })
  }

  /// Whether a stored tensor moves into the GGUF as its bytes (plain, a GGUF type, not int8).
  static func keepsBytes(_ entry: ContainerTensorEntry) -> Bool {
    entry.declaration.encoding == .plain && GGUFTensorType(dtype: entry.dtype) != nil
      && entry.dtype != .i8
  }

  /// The bytes of rows `rows` of a stored `[n, d]` tensor (whole rows, so whole blocks).
  static func rowBytes(_ reader: StoredTensors, _ name: String, rows: Range<Int>)
    throws(ConversionError) -> [UInt8]
  {
    let bytes = try reader.bytes(name)
    let n = try reader.entry(name).shape[0]
    let rowBytes = bytes.count / max(1, n)
    return Array(bytes[(rows.lowerBound * rowBytes)..<(rows.upperBound * rowBytes)])
  }
}
