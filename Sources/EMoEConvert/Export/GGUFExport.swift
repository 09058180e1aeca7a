import EMoECore
import EMoEFormats

/// Exports an `.emoe` container as a GGUF in llama.cpp's MoE layout.
///
/// The container may come from a llama-architecture GGUF or from a LLaMA, Mistral, Qwen2 or
/// Qwen3 safetensors checkpoint (GGUFExport+SafeTensorsSource.swift: names, q/k permutation,
/// hyperparameters and tokenizer). Per converted layer: `ffn_gate_inp` (F32 `[E, d]`),
/// `ffn_gate_exps` and `ffn_up_exps` (`[E, n/E, d]`, the stored rows as they are, Q4_1
/// included) and `ffn_down_exps` (`[E, d, n/E]`, requantised: see ``Precision``), with
/// `{arch}.expert_count` = E, `{arch}.expert_used_count` = k and the per-expert width, the dense
/// `ffn_gate/up/down` removed, and the EMoE settings under `emoe.*`.
///
/// llama.cpp weights the k selected experts by the softmax of the router renormalised over
/// them, where EMoE sums them with weight 1. With k = E (the default) the export reproduces the
/// dense model: the router is all zeros, so every weight is 1/E, and `ffn_down_exps` is
/// multiplied by E (exact in binary floating point when E is a power of two); the experts are
/// then the source's consecutive neurons, so its blocks move unchanged (GGUFExport+SourceOrder).
/// With k < E the
/// router is the average-key gate times a power of two s (``GGUFRouterScale``), so llama.cpp
/// selects EMoE's top-k experts (softmax keeps the order of scores) with probabilities within
/// `e^{±1/64}` of each other, and `ffn_down_exps` is multiplied by k: each selected expert's
/// weight is EMoE's 1 within 1.6 %.
///
/// The `llama` architecture needs every layer to be MoE without a shared expert; it is written
/// when every layer was converted and no layer has a shared block. Otherwise the export is
/// `ernie4_5-moe` (``Target``): layers before the first converted one stay dense, later
/// unconverted layers become zero experts plus their whole FFN as the shared expert, and shared
/// blocks become the shared expert.
public struct GGUFExport {
  /// The container to export.
  public let container: ContainerFile
  /// Experts llama.cpp selects per token (`expert_used_count`), or `nil` for E.
  public var expertsUsed: Int?
  /// The source checkpoint folder (for its tokenizer) of a container made from safetensors, or
  /// `nil` for the container's own folder.
  public var sourceFolder: String?
  /// How the expert tensors are encoded (GGUFExport+Encoding.swift).
  public var precision: Precision
  /// The type of `ffn_down_exps` under ``Precision/source``, or `nil` for the default that
  /// follows the source's down type.
  public var downType: DType?

  /// Creates an export of `container`.
  public init(
    container: ContainerFile, expertsUsed: Int? = nil, sourceFolder: String? = nil,
    precision: Precision = .source, downType: DType? = nil
  ) {
    self.container = container
    self.expertsUsed = expertsUsed
    self.sourceFolder = sourceFolder
    self.precision = precision
    self.downType = downType
  }

  /// One output tensor and how to make its bytes.
  struct Output {
    var plan: GGUFWriter.TensorPlan
    var bytes: () throws(ConversionError) -> [UInt8]
  }

  /// The facts the export is built from, checked.
  struct Layout {
    var architecture: String
    var experts: Int
    var used: Int
    var layerCount: Int
    var converted: [Int: ContainerLayerRecord]
    var trivial: [Int]
    var metadata: [(key: String, value: GGUFValue)]
    /// The router scale of each converted layer at k < E (``GGUFRouterScale``).
    var scales: [Int: GGUFRouterScale] = [:]
    /// The llama.cpp architecture written (``Target``).
    var target: Target = .llama
    /// ernie4_5-moe only: the width of the shared expert in every MoE layer (0: none).
    var sharedWidth = 0
    /// The name mapping of a container made from safetensors (`nil`: GGUF names as stored).
    var source: SafeTensorsSource? = nil

    /// The stored name of GGUF tensor `name`.
    func stored(_ name: String) -> String { source?.storedNames[name] ?? name }
  }

  /// Writes the GGUF file at `path` atomically.
  ///
  /// - Returns: the layers split without clustering (those the container did not convert).
  /// - Throws: ``ConversionError``: `invalidInput` when the container cannot be expressed in
  ///   llama.cpp's layout (not from a llama GGUF, unequal experts, k < E with layers left
  ///   unconverted), `io`/`output` when writing fails.
  @discardableResult
  public func write(
    to path: String, progress: ((_ written: Int, _ total: Int) -> Void)? = nil
  ) throws(ConversionError) -> [Int] {
    try ExportSafety.check(container: container, outputs: [path])
    let layout = try check()
    let outputs = try plan(layout)
    let writer: GGUFWriter
    do {
      writer = try GGUFWriter(
        destination: path, metadata: try withEncodingMetadata(metadata(layout), layout),
        tensors: outputs.map(\.plan))
    } catch {
      throw .exporting(error, container: container.path)
    }
    do {
      let total = outputs.reduce(0) { sum, output in
        sum
          + (output.plan.shape.elementCount.flatMap {
            output.plan.dtype.byteCount(elementCount: $0)
          } ?? 0)
      }
      var written = 0
      for output in outputs {
        let bytes = try output.bytes()
        try bytes.withUnsafeBytes { try writer.append($0) }
        written += bytes.count
        progress?(written, max(total, written))
      }
      try writer.finish()
    } catch {
      writer.abort()
      throw .exporting(error, container: container.path)
    }
    return layout.trivial
  }

  // MARK: Checks

  func check() throws(ConversionError) -> Layout {
    let file = container.path
    let source: SafeTensorsSource? =
      [.safetensors, .safetensorsIndex].contains(container.manifest.source.kind)
      ? try safeTensorsSource() : nil
    let pairs: [(key: String, value: GGUFValue)]
    let architecture: String
    if let source {
      pairs = source.metadata
      architecture = source.hyperparameters.architecture
    } else {
      guard container.manifest.source.kind == .gguf, case .gguf(let ggufPairs) = container.metadata
      else {
        throw .invalidInput(
          "\(file): GGUF export needs a container converted from a GGUF file (this one came from "
            + "\(container.manifest.source.format)); export it with --to safetensors")
      }
      guard
        let ggufArchitecture = ggufPairs.first(where: { $0.key == "general.architecture" })?.value
          .stringValue, ggufArchitecture == "llama"
      else {
        throw .invalidInput(
          "\(file): GGUF export writes llama.cpp's MoE layout of the 'llama' architecture; the "
            + "source's general.architecture is not 'llama'")
      }
      pairs = ggufPairs
      architecture = ggufArchitecture
    }
    guard let layerCount = ExportConfig.layerCount(container) else {
      throw .invalidInput("\(file): the source metadata has no llama.block_count")
    }
    let records = container.layers
    guard let first = records.first else {
      throw .invalidInput("\(file): the container has no converted layer")
    }
    let experts = first.expertCount
    for record in records {
      guard record.family == .glu else {
        throw .invalidInput("\(file): layer \(record.layer) is not a gated FFN")
      }
      guard record.expertCount == experts, Set(record.expertSizes).count == 1 else {
        throw .invalidInput(
          "\(file): layer \(record.layer) has \(record.expertCount) experts of sizes "
            + "\(Set(record.expertSizes).sorted()); llama.cpp needs every layer to have "
            + "\(experts) experts of one size")
      }
    }
    try refuseBiases(records)
    let upAbs = records.filter { $0.router == .upAbs }.map(\.layer).sorted()
    guard upAbs.isEmpty else {
      throw .invalidInput(
        "\(file): layers \(upAbs) use the up_abs router, which scores experts on |Wu x + bu|; "
          + "llama.cpp routes on a matrix product only (ffn_gate_inp); export with --to "
          + "safetensors or convert with --router average-key or up")
    }
    let topKs = Dictionary(grouping: records, by: \.topK)
    guard topKs.count <= 1 else {
      let listing = topKs.keys.sorted().map { k in
        "top-k \(k) in layers \(topKs[k]!.map(\.layer).sorted())"
      }.joined(separator: ", ")
      throw .invalidInput(
        "\(file): the layers have different top-k (\(listing)); llama.cpp selects one number of "
          + "experts (expert_used_count) in every layer; export with --to safetensors")
    }
    let used = expertsUsed ?? experts
    guard (1...experts).contains(used) else {
      throw .invalidOptions("--top-k \(used) is outside 1...\(experts) (the expert count)")
    }
    var converted: [Int: ContainerLayerRecord] = [:]
    for record in records { converted[record.layer] = record }
    // The recorded block_count drives the loops below; bound it by the layers the container
    // actually holds (converted, or passed through as blk.N.*) so 2^32 - 1 cannot spin.
    let held = Set(records.map(\.layer)).union(
      container.tensorInfos.compactMap {
        Self.blockIndex(of: source?.ggufNames[$0.name] ?? $0.name)
      })
    let heldCount = (held.max() ?? -1) + 1
    guard layerCount <= heldCount else {
      throw .invalidInput(
        "\(ErrorLocation(file: file, key: "llama.block_count")): declares \(layerCount) layers, "
          + "but the container holds layers only up to \(heldCount - 1)")
    }
    let trivial = (0..<layerCount).filter { converted[$0] == nil }
    let target = Self.target(
      architecture: architecture, experts: experts, used: used, trivial: trivial,
      records: records)
    for layer in trivial where target == .llama {
      for role in ["ffn_gate", "ffn_up", "ffn_down"] {
        let name =
          source?.storedNames["blk.\(layer).\(role).weight"] ?? "blk.\(layer).\(role).weight"
        guard let info = container.tensorInfos.first(where: { $0.name == name }) else {
          throw .invalidInput("\(file): layer \(layer) was not converted and has no \(name)")
        }
        let n = role == "ffn_down" ? info.shape[1] : info.shape[0]
        guard info.shape.rank == 2, n % experts == 0 else {
          throw .invalidInput(
            "\(ErrorLocation(file: file, tensor: name)): \(n) neurons do not split into "
              + "\(experts) experts")
        }
      }
    }
    var layout = Layout(
      architecture: architecture, experts: experts, used: used, layerCount: layerCount,
      converted: converted, trivial: trivial, metadata: pairs,
      scales: try routerScales(
        converted: converted, experts: experts, used: used,
        stored: { source?.storedNames[$0] ?? $0 }),
      target: target, source: source)
    if target == .ernie {
      guard architecture == "llama" else {
        throw .invalidInput(
          "\(file): layers \(trivial) were not converted or a layer has a shared block; llama.cpp "
            + "expresses that with its 'ernie4_5-moe' architecture, which computes a LLaMA model "
            + "but not a \(architecture) one; convert every layer (--layers all) without shared "
            + "neurons, or export with --to safetensors or --to hf")
      }
      layout.sharedWidth = try ernieSharedWidth(layout)
    }
    return layout
  }

  /// `N` for a tensor named `blk.N.…`, else `nil`.
  static func blockIndex(of name: String) -> Int? {
    guard name.hasPrefix("blk.") else { return nil }
    let digits = name.dropFirst(4).prefix { $0.isASCII && $0.isNumber }
    guard !digits.isEmpty, name.dropFirst(4 + digits.count).first == "." else { return nil }
    return Int(digits)
  }

  // MARK: Metadata

  func metadata(_ layout: Layout) -> [(key: String, value: GGUFValue)] {
    let arch = layout.architecture
    let n =
      layout.converted.values.first?.intermediateSize
      ?? container.tensorInfos.first { $0.name == "blk.0.ffn_gate.weight" }?.shape[0] ?? 0
    let perExpert = n / max(1, layout.experts)
    var result: [(key: String, value: GGUFValue)] = []
    var seen = Set<String>()
    for (key, value) in layout.metadata {
      seen.insert(key)
      switch key {
      case arch + ".feed_forward_length":
        result.append((key, Self.replacingIntegers(value, with: perExpert)))
      case arch + ".expert_count":
        result.append((key, .uint32(UInt32(layout.experts))))
      case arch + ".expert_used_count":
        result.append((key, .uint32(UInt32(layout.used))))
      default:
        if key.hasPrefix("emoe.") { continue }
        result.append((key, value))
      }
    }
    if !seen.contains(arch + ".expert_count") {
      result.append((arch + ".expert_count", .uint32(UInt32(layout.experts))))
    }
    if !seen.contains(arch + ".expert_used_count") {
      result.append((arch + ".expert_used_count", .uint32(UInt32(layout.used))))
    }
    let records = layout.converted.values.sorted { $0.layer < $1.layer }
    func integers(_ values: [Int]) -> GGUFValue {
      .array(elementType: .int32, elements: values.map { .int32(Int32($0)) })
    }
    result += [
      ("emoe.tool", .string("\(container.manifest.tool.name) \(container.manifest.tool.version)")),
      ("emoe.expert_count", .uint32(UInt32(layout.experts))),
      ("emoe.top_k", .uint32(UInt32(records.first?.topK ?? layout.used))),
      ("emoe.layers", integers(records.map(\.layer))),
      ("emoe.unclustered_layers", integers(layout.trivial)),
      ("emoe.keys", .string(records.first?.clustering.keys.rawValue ?? "gate")),
      (
        "emoe.router",
        .string(
          layout.used == layout.experts ? "zero" : records.first?.router.rawValue ?? "average_key")
      ),
      ("emoe.down_scale", .float32(Float(layout.used))),
      ("emoe.expert_order", .string(writesSourceOrder(layout) ? "source" : "clusters")),
    ]
    result += routerScaleMetadata(layout)
    return layout.target == .llama ? result : ernieMetadata(result, layout)
  }

  /// `value` with every integer set to `replacement`, keeping its GGUF type.
  static func replacingIntegers(_ value: GGUFValue, with replacement: Int) -> GGUFValue {
    switch value {
    case .uint8: .uint8(UInt8(clamping: replacement))
    case .int8: .int8(Int8(clamping: replacement))
    case .uint16: .uint16(UInt16(clamping: replacement))
    case .int16: .int16(Int16(clamping: replacement))
    case .uint32: .uint32(UInt32(clamping: replacement))
    case .int32: .int32(Int32(clamping: replacement))
    case .uint64: .uint64(UInt64(clamping: replacement))
    case .int64: .int64(Int64(replacement))
    case .array(let type, let elements):
      .array(elementType: type, elements: elements.map { replacingIntegers($0, with: replacement) })
    default: .uint32(UInt32(clamping: replacement))
    }
  }

  // MARK: Tensors

  func plan(_ layout: Layout) throws(ConversionError) -> [Output] {
    let reader = StoredTensors(container: container)
    var layerOf: [String: Int] = [:]
    for record in layout.converted.values {
      for name in record.tensors.values { layerOf[name] = record.layer }
    }
    // ernie4_5-moe keeps the leading unconverted layers dense: their tensors pass through.
    let lead = layout.target == .llama ? 0 : layout.converted.keys.min() ?? 0
    let trivial = Set(layout.trivial.filter { $0 > lead })
    for layer in trivial {
      for role in ["ffn_gate", "ffn_up", "ffn_down"] {
        layerOf[layout.stored("blk.\(layer).\(role).weight")] = layer
      }
    }
    let passthrough = Set(container.tensorInfos.map(\.name))
    var outputs: [Output] = []
    var done = Set<Int>()
    for entry in container.entries {
      if let layer = layerOf[entry.name] {
        guard done.insert(layer).inserted else { continue }
        if let record = layout.converted[layer] {
          outputs +=
            try layout.target == .llama
            ? experts(record, layout, reader) : ernieExperts(record, layout, reader)
        } else {
          outputs +=
            try layout.target == .llama
            ? unclustered(layer, layout, reader) : ernieDense(layer, layout, reader)
        }
      } else if let source = layout.source {
        if passthrough.contains(entry.name),
          let output = try safeTensorsOutput(entry, source, reader)
        {
          outputs.append(output)
        }
      } else if passthrough.contains(entry.name) {
        let name = entry.name
        guard GGUFTensorType(dtype: entry.dtype) != nil else {
          throw .invalidInput(
            "\(ErrorLocation(file: container.path, tensor: name)): \(entry.dtype.rawValue) has no "
              + "GGUF tensor type")
        }
        outputs.append(
          Output(
            plan: .init(name: name, dtype: entry.dtype, shape: entry.shape),
            bytes: { () throws(ConversionError) in try reader.bytes(name) }))
      }
    }
    return outputs
  }

  /// The four MoE tensors of a converted layer.
  func experts(
    _ record: ContainerLayerRecord, _ layout: Layout, _ reader: StoredTensors
  ) throws(ConversionError) -> [Output] {
    // At k = E the experts are the source's consecutive neurons (GGUFExport+SourceOrder.swift).
    let order = writesSourceOrder(layout) ? try sourcePositions(record) : nil
    let e = layout.experts
    let d = record.hiddenSize
    let size = record.intermediateSize / e
    let block = "blk.\(record.layer)."
    let scale = Float(layout.used)
    let downType = try resolvedDownType(layout)
    var outputs: [Output] = []
    let gateName = record.tensors[.router]
    let zero = layout.used == layout.experts
    let routerScale = layout.scales[record.layer]?.scale ?? 1
    outputs.append(
      Output(
        plan: .init(name: block + "ffn_gate_inp.weight", dtype: .f32, shape: [e, d]),
        bytes: { () throws(ConversionError) in
          if zero || gateName == nil { return [UInt8](repeating: 0, count: e * d * 4) }
          return MatrixBytes.bytes(try reader.floats(gateName!).map { $0 * routerScale })
        }))
    for (role, suffix) in [(ContainerLayerRecord.Role.wg, "ffn_gate_exps"), (.wu, "ffn_up_exps")] {
      guard let name = record.tensors[role] else { continue }
      let encoding = rowsEncoding(try reader.entry(name))
      outputs.append(
        Output(
          plan: .init(
            name: block + suffix + ".weight", dtype: encoding.dtype, shape: [e, size, d]),
          bytes: { () throws(ConversionError) in
            let stored = try rowsBytes(name, encoding, reader)
            guard let order else { return stored }
            return try sourceOrderRows(stored, order, tensor: name)
          }))
    }
    if let name = record.tensors[.wd] {
      outputs.append(
        Output(
          plan: .init(name: block + "ffn_down_exps.weight", dtype: downType, shape: [e, d, size]),
          bytes: { () throws(ConversionError) in
            let values = try reader.floats(name)
            let f32: [UInt8]
            if let order {
              f32 = try sourceOrderDown(
                values, order, experts: e, columns: d, scale: scale, tensor: name)
            } else {
              f32 = values.map { $0 * scale }.withUnsafeBytes { raw in
                MatrixBytes.transposedBlocks(
                  raw, experts: e, size: size, columns: d, elementBytes: 4)
              }
            }
            return try encodeDown(f32, as: downType, tensor: block + "ffn_down_exps.weight")
          }))
    }
    return outputs.sorted { $0.plan.name < $1.plan.name }
  }

  /// The four MoE tensors of a layer left dense: E experts of consecutive neurons.
  private func unclustered(_ layer: Int, _ layout: Layout, _ reader: StoredTensors)
    throws(ConversionError) -> [Output]
  {
    let e = layout.experts
    let block = "blk.\(layer)."
    let gate = try reader.entry(layout.stored(block + "ffn_gate.weight"))
    let up = try reader.entry(layout.stored(block + "ffn_up.weight"))
    let down = try reader.entry(layout.stored(block + "ffn_down.weight"))
    let n = gate.shape[0]
    let d = gate.shape[1]
    let size = n / e
    let scale = Float(layout.used)
    let downType = try resolvedDownType(layout)
    var outputs = [
      Output(
        plan: .init(name: block + "ffn_gate_inp.weight", dtype: .f32, shape: [e, d]),
        bytes: { () throws(ConversionError) in [UInt8](repeating: 0, count: e * d * 4) })
    ]
    for (entry, suffix) in [(gate, "ffn_gate_exps"), (up, "ffn_up_exps")] {
      let name = entry.name
      let encoding = rowsEncoding(entry)
      outputs.append(
        Output(
          plan: .init(
            name: block + suffix + ".weight", dtype: encoding.dtype, shape: [e, size, d]),
          bytes: { () throws(ConversionError) in try rowsBytes(name, encoding, reader) }))
    }
    let downName = down.name
    outputs.append(
      Output(
        plan: .init(name: block + "ffn_down_exps.weight", dtype: downType, shape: [e, d, size]),
        bytes: { () throws(ConversionError) in
          // Stored [d, n]; expert j is columns j·size ..< (j+1)·size.
          let values = try reader.floats(downName)
          var result = [Float](repeating: 0, count: values.count)
          for expert in 0..<e {
            for row in 0..<d {
              for column in 0..<size {
                result[(expert * d + row) * size + column] =
                  values[row * n + expert * size + column] * scale
              }
            }
          }
          return try encodeDown(
            MatrixBytes.bytes(result), as: downType, tensor: block + "ffn_down_exps.weight")
        }))
    return outputs.sorted { $0.plan.name < $1.plan.name }
  }
}
