/// A failure to read a tensor's values as floats.
public struct TensorConversionError: Error, Sendable, CustomStringConvertible {
  /// The tensor concerned.
  public var tensor: String
  /// Its element type.
  public var dtype: DType

  /// A readable message.
  public var description: String {
    "tensor '\(tensor)': cannot read \(dtype.rawValue) values as F32 here"
  }
}

extension Tensor {
  /// Writes the tensor's values as F32 into `destination`.
  ///
  /// `destination` must hold ``elementCount`` values. Handles F32, F16, BF16 and F64; quantised
  /// types are decoded by EMoENumerics.
  public func decodeFloats(into destination: UnsafeMutableBufferPointer<Float>)
    throws(TensorConversionError)
  {
    let count = elementCount
    precondition(destination.count >= count, "destination too small")
    guard let out = destination.baseAddress else { return }
    switch dtype {
    case .f32:
      withUnsafeBytes { raw in
        if count > 0 {
          UnsafeMutableRawPointer(out).copyMemory(from: raw.baseAddress!, byteCount: count * 4)
        }
      }
    case .f16:
      withUnsafeBytes { raw in
        if count > 0 { HalfPrecision.widenF16(raw.baseAddress!, into: out, count: count) }
      }
    case .bf16:
      withUnsafeBytes { raw in
        if count > 0 { HalfPrecision.widenBF16(raw.baseAddress!, into: out, count: count) }
      }
    case .f64:
      withUnsafeBytes { raw in
        for index in 0..<count {
          out[index] = Float(raw.loadUnaligned(fromByteOffset: index * 8, as: Double.self))
        }
      }
    default:
      throw TensorConversionError(tensor: name, dtype: dtype)
    }
  }

  /// The tensor's values as F32 (see ``decodeFloats(into:)``).
  public func floatValues() throws(TensorConversionError) -> [Float] {
    var result = [Float](repeating: 0, count: elementCount)
    let outcome = result.withUnsafeMutableBufferPointer { buffer in
      Result { () throws(TensorConversionError) in try decodeFloats(into: buffer) }
    }
    try outcome.get()
    return result
  }
}
