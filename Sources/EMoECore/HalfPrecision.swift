/// Conversions between `Float` and the 16-bit float formats F16 (IEEE binary16) and BF16.
///
/// Narrowing rounds to nearest, ties to even, and keeps NaN a NaN (quietened, as ggml and PyTorch
/// do). Widening is exact. The bulk functions work on raw little-endian buffers so they run
/// straight over mapped file bytes.
public enum HalfPrecision {
  /// Widens an F16 bit pattern to `Float` exactly.
  @inlinable
  public static func float(fromF16 bits: UInt16) -> Float {
    Float(Float16(bitPattern: bits))
  }

  /// Narrows `value` to F16 with round-to-nearest-even; NaN stays NaN.
  @inlinable
  public static func f16(from value: Float) -> UInt16 {
    Float16(value).bitPattern
  }

  /// Widens a BF16 bit pattern to `Float` exactly.
  @inlinable
  public static func float(fromBF16 bits: UInt16) -> Float {
    Float(bitPattern: UInt32(bits) << 16)
  }

  /// Narrows `value` to BF16 with round-to-nearest-even; NaN becomes a quiet NaN with its sign
  /// and top payload bits kept (ggml's and gguf-py's rule).
  @inlinable
  public static func bf16(from value: Float) -> UInt16 {
    let bits = value.bitPattern
    if value.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040 }
    let rounded = bits &+ 0x7FFF &+ ((bits >> 16) & 1)
    return UInt16(truncatingIfNeeded: rounded >> 16)
  }

  /// Widens `count` F16 values from `source` (little-endian bytes) into `destination`.
  @inlinable
  public static func widenF16(
    _ source: UnsafeRawPointer, into destination: UnsafeMutablePointer<Float>, count: Int
  ) {
    for index in 0..<count {
      let bits = source.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self)
      destination[index] = Float(Float16(bitPattern: bits))
    }
  }

  /// Widens `count` BF16 values from `source` (little-endian bytes) into `destination`.
  @inlinable
  public static func widenBF16(
    _ source: UnsafeRawPointer, into destination: UnsafeMutablePointer<Float>, count: Int
  ) {
    for index in 0..<count {
      let bits = source.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self)
      destination[index] = Float(bitPattern: UInt32(bits) << 16)
    }
  }

  /// Narrows `count` floats into F16 bit patterns.
  @inlinable
  public static func narrowToF16(
    _ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<UInt16>, count: Int
  ) {
    for index in 0..<count { destination[index] = Float16(source[index]).bitPattern }
  }

  /// Narrows `count` floats into BF16 bit patterns.
  @inlinable
  public static func narrowToBF16(
    _ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<UInt16>, count: Int
  ) {
    for index in 0..<count { destination[index] = bf16(from: source[index]) }
  }
}
