import EMoECore

/// Encodes F32 values in one of the element types emoe-pack writes: F32, F16, BF16 and ggml's
/// Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0 blocks (each byte-identical to `gguf.quants.quantize`).
public enum BlockQuantizer {
  /// The element types ``encode(_:as:)`` writes.
  public static let encodableTypes: [DType] = [
    .f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0,
  ]

  /// Whether ``encode(_:as:)`` writes `dtype`.
  public static func supports(_ dtype: DType) -> Bool { encodableTypes.contains(dtype) }

  /// The bytes of `values` in `dtype`, row-major, little-endian, in ggml's block layout for the
  /// quantised types (blocks of 32 consecutive values).
  ///
  /// - Throws: ``QuantizationError`` when `dtype` is not encodable or the count is not a whole
  ///   number of blocks.
  public static func encode(_ values: [Float], as dtype: DType) throws(QuantizationError)
    -> [UInt8]
  {
    switch dtype {
    case .f32:
      return values.withUnsafeBytes { Array($0) }
    case .f16, .bf16:
      var halves = [UInt16](repeating: 0, count: values.count)
      values.withUnsafeBufferPointer { input in
        halves.withUnsafeMutableBufferPointer { output in
          guard let source = input.baseAddress, let target = output.baseAddress else { return }
          if dtype == .f16 {
            HalfPrecision.narrowToF16(source, into: target, count: values.count)
          } else {
            HalfPrecision.narrowToBF16(source, into: target, count: values.count)
          }
        }
      }
      return halves.withUnsafeBytes { Array($0) }
    case .q4_0: return try LegacyBlockQuantizer.q4_0.quantize(values)
    case .q4_1: return try LegacyBlockQuantizer.q4_1.quantize(values)
    case .q5_0: return try LegacyBlockQuantizer.q5_0.quantize(values)
    case .q5_1: return try LegacyBlockQuantizer.q5_1.quantize(values)
    case .q8_0: return try Q8_0Quantizer.quantize(values)
    default:
      throw QuantizationError("emoe-pack does not encode \(dtype.rawValue) values")
    }
  }
}
