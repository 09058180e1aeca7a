import EMoECore
import EMoEFormats
import EMoENumerics

extension GGUFExport {
  /// How a GGUF export encodes the expert tensors (`ffn_gate_exps`, `ffn_up_exps`,
  /// `ffn_down_exps`); every other tensor is copied as stored.
  public enum Precision: String, Sendable, CaseIterable {
    /// Gate and up rows keep their block type (int8 rows become Q8_0); `ffn_down_exps` is
    /// requantised to ``GGUFExport/downType`` or the default for the source's down type.
    case source
    /// Gate and up as `source`; `ffn_down_exps` F32 (no second quantisation of down).
    case f32Down = "f32-down"
    /// All three expert tensors F32: the stored values, decoded (for exactness checks).
    case f32
  }

  /// The element types `ffn_down_exps` can be written in.
  public static let downTypes: [DType] = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .f16, .bf16, .f32]

  /// The type `ffn_down_exps` gets when the source's `ffn_down` was 4-bit or coarser.
  ///
  /// Down's source blocks run along all n neurons; after the permutation into experts they are
  /// cut along n/E, so down is decoded, scaled and quantised a second time. Q5_1 keeps the
  /// second rounding well below the first one's error at 1.045× the source's size (SmolLM2 Q4_1,
  /// docs/export.md); Q8_0 would cost 1.13×.
  public static let defaultCoarseDownType: DType = .q5_1

  /// The type `ffn_down_exps` is written in for an expert width of `size` neurons.
  ///
  /// An explicit ``downType`` wins; otherwise `precision` decides, and under `source` the default
  /// follows how the container stores down: int8 rows or Q8_0 → Q8_0; at k = E (source order)
  /// the source's own type when it is one of ``downTypes``; otherwise by the source's type
  /// (4-bit and coarser → ``defaultCoarseDownType``; 5- to 8-bit → Q8_0; F16, BF16 and F32
  /// kept). ggml blocks run along the last axis, n/E, so a block type needs
  /// `size` to be a multiple of 32; otherwise F16 is written.
  func resolvedDownType(_ layout: Layout) throws(ConversionError) -> DType {
    let chosen: DType
    if precision != .source {
      chosen = .f32
    } else if let downType {
      chosen = downType
    } else {
      chosen = try defaultDownType(layout)
    }
    guard chosen.isQuantized else { return chosen }
    return expertWidth(layout) % chosen.blockSize == 0 ? chosen : .f16
  }

  /// n/E, the neurons per expert.
  func expertWidth(_ layout: Layout) -> Int {
    guard let record = layout.converted.values.first else { return 0 }
    return record.intermediateSize / max(1, layout.experts)
  }

  /// The default down type for the stored `wd` of the first converted layer.
  private func defaultDownType(_ layout: Layout) throws(ConversionError) -> DType {
    guard let record = layout.converted.values.min(by: { $0.layer < $1.layer }),
      let name = record.tensors[.wd]
    else { return .f32 }
    let entry = try StoredTensors(container: container).entry(name)
    if case .int8Rows = entry.declaration.encoding { return .q8_0 }
    if entry.dtype == .q8_0 { return .q8_0 }
    let sourceType = entry.declaration.source?.dtype ?? entry.dtype
    // In the source's neuron order (k = E) down's blocks are the source's own: requantising
    // their decoded values in the source's type gives the same blocks back (times E).
    if writesSourceOrder(layout), Self.downTypes.contains(sourceType) { return sourceType }
    switch sourceType {
    case .q4_0, .q4_1, .q2_K, .q3_K, .q4_K: return Self.defaultCoarseDownType
    case .q5_0, .q5_1, .q5_K, .q6_K, .q8_0, .q8_1, .q8_K: return .q8_0
    case .f16: return .f16
    case .bf16: return .bf16
    default: return .f32
    }
  }

  /// The type a gate or up expert tensor is written in, and whether its stored bytes move as
  /// they are.
  ///
  /// Rows are whole blocks along d, so permuting them keeps a block type bit for bit. int8 rows
  /// have no GGUF type: they become Q8_0 when d is a multiple of 32, F32 otherwise.
  func rowsEncoding(_ entry: ContainerTensorEntry) -> (dtype: DType, keep: Bool) {
    let plain =
      entry.declaration.encoding == .plain && GGUFTensorType(dtype: entry.dtype) != nil
      && entry.dtype != .i8
    if precision == .f32 { return (.f32, plain && entry.dtype == .f32) }
    if plain { return (entry.dtype, true) }
    let d = entry.shape.dimensions.last ?? 0
    if case .int8Rows = entry.declaration.encoding, d % Q8_0Quantizer.blockSize == 0 {
      return (.q8_0, false)
    }
    return (.f32, false)
  }

  /// The bytes of the gate or up tensor `name` in `encoding`.
  func rowsBytes(
    _ name: String, _ encoding: (dtype: DType, keep: Bool), _ reader: StoredTensors
  ) throws(ConversionError) -> [UInt8] {
    if encoding.keep { return try reader.bytes(name) }
    return try encode(try reader.floats(name), as: encoding.dtype, tensor: name)
  }

  /// `values` (F32 bytes of `[E, d, n/E]`) encoded as `dtype`; blocks run along n/E.
  func encodeDown(_ values: [UInt8], as dtype: DType, tensor: String) throws(ConversionError)
    -> [UInt8]
  {
    guard dtype != .f32 else { return values }
    let floats = values.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    return try encode(floats, as: dtype, tensor: tensor)
  }

  /// `values` encoded as `dtype`, with the tensor named in a failure.
  func encode(_ values: [Float], as dtype: DType, tensor: String) throws(ConversionError)
    -> [UInt8]
  {
    do {
      return try BlockQuantizer.encode(values, as: dtype)
    } catch {
      throw .invalidInput(
        "\(ErrorLocation(file: container.path, tensor: tensor)): cannot be written as "
          + "\(dtype.rawValue): \(error)")
    }
  }

  /// `pairs` with `emoe.precision` and `emoe.down_type` added.
  ///
  /// `general.file_type` becomes the gate/up experts' type when the export changed it in every
  /// layer (F32 → 0, Q8_0 → 7; llama.cpp's `llama_ftype`), since those tensors hold most of the
  /// weights. Otherwise the source's file type still names the bulk of the tensors and is kept.
  func withEncodingMetadata(
    _ pairs: [(key: String, value: GGUFValue)], _ layout: Layout
  ) throws(ConversionError) -> [(key: String, value: GGUFValue)] {
    var result = pairs
    let reader = StoredTensors(container: container)
    var gateTypes = Set<DType>()
    var changed = layout.trivial.isEmpty || precision == .f32
    for record in layout.converted.values {
      guard let gate = record.tensors[.wg] else { continue }
      let encoding = rowsEncoding(try reader.entry(gate))
      gateTypes.insert(encoding.dtype)
      changed = changed && !encoding.keep
    }
    if changed, gateTypes.count == 1, let dtype = gateTypes.first, dtype == .f32 || dtype == .q8_0,
      let index = result.firstIndex(where: { $0.key == "general.file_type" })
    {
      result[index].value = Self.replacingIntegers(
        result[index].value, with: dtype == .q8_0 ? 7 : 0)
    }
    result.append(("emoe.precision", .string(precision.rawValue)))
    result.append(("emoe.down_type", .string(try resolvedDownType(layout).rawValue)))
    return result
  }
}
