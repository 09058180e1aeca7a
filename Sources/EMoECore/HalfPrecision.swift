/// Conversions between `Float` and the 16-bit float formats F16 (IEEE binary16) and BF16: the
/// package's one F16/BF16 codec.
///
/// Narrowing rounds to nearest, ties to even, and keeps NaN a NaN (quietened, as ggml and PyTorch
/// do). Widening is exact. The bulk functions work on raw little-endian buffers so they run
/// straight over mapped file bytes.
///
/// F16 is converted with integer operations, selects and one float addition, so the conversions
/// inline and vectorise: the package builds for baseline x86-64 (no F16C), where `Float(Float16)`
/// and `Float16(Float)` are library calls per value. The results are bit-identical to them for
/// every input; NaN keeps its top payload bits, and narrowing sets the quiet bit (as
/// compiler-rt, numpy and ggml do).
public enum HalfPrecision {
  /// Widens an F16 bit pattern to `Float` exactly.
  @inlinable @inline(__always)
  public static func float(fromF16 half: UInt16) -> Float {
    let bits = UInt32(half)
    let sign = (bits & 0x8000) << 16
    let magnitude = (bits & 0x7FFF) << 13
    let exponent = magnitude & 0x0F80_0000
    // Rebias the exponent from 15 to 127.
    let normal = magnitude &+ 0x3800_0000
    // Infinity and NaN need the maximum F32 exponent: rebias once more.
    let special = normal &+ 0x3800_0000
    // Subnormals: place the mantissa under the exponent of 2^-14, then subtract 2^-14 exactly.
    let subnormal =
      (Float(bitPattern: magnitude &+ 0x3880_0000) - Float(bitPattern: 0x3880_0000)).bitPattern
    let widened = exponent == 0 ? subnormal : (exponent == 0x0F80_0000 ? special : normal)
    return Float(bitPattern: widened | sign)
  }

  /// Narrows `value` to F16 with round-to-nearest-even (overflow gives infinity); NaN stays NaN.
  @inlinable @inline(__always)
  public static func f16(from value: Float) -> UInt16 {
    let bits = value.bitPattern
    let sign = UInt16(truncatingIfNeeded: bits >> 16) & 0x8000
    let magnitude = bits & 0x7FFF_FFFF
    let result: UInt32
    if magnitude > 0x7F80_0000 {
      result = 0x7E00 | ((magnitude >> 13) & 0x1FF)
    } else if magnitude >= 0x4780_0000 {
      // 65536 and above (and infinity) overflow; 65520 up to 65536 round up below.
      result = 0x7C00
    } else if magnitude >= 0x3880_0000 {
      // Normal F16: rebias the exponent, then round the 13 dropped bits to nearest even.
      let rebased = magnitude &- 0x3800_0000
      result = (rebased &+ 0x0FFF &+ ((rebased >> 13) & 1)) >> 13
    } else {
      // Subnormal F16 (or zero): adding 0.5 rounds to a multiple of 2^-24 in hardware.
      result = (Float(bitPattern: magnitude) + 0.5).bitPattern &- 0x3F00_0000
    }
    return sign | UInt16(truncatingIfNeeded: result)
  }

  /// The F32 value of the little-endian F16 stored at `offset` bytes past `base` (the scales of
  /// ggml's blocks).
  @inlinable @inline(__always)
  public static func loadF16(_ base: UnsafeRawPointer, _ offset: Int) -> Float {
    float(
      fromF16: UInt16(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
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
    for index in 0..<count { destination[index] = loadF16(source, index &* 2) }
  }

  /// Widens `count` BF16 values from `source` (little-endian bytes) into `destination`.
  @inlinable
  public static func widenBF16(
    _ source: UnsafeRawPointer, into destination: UnsafeMutablePointer<Float>, count: Int
  ) {
    for index in 0..<count {
      let bits = source.loadUnaligned(fromByteOffset: index &* 2, as: UInt16.self)
      destination[index] = float(fromBF16: UInt16(littleEndian: bits))
    }
  }

  /// Narrows `count` floats into F16 bit patterns.
  @inlinable
  public static func narrowToF16(
    _ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<UInt16>, count: Int
  ) {
    for index in 0..<count { destination[index] = f16(from: source[index]) }
  }

  /// Narrows `count` floats into BF16 bit patterns.
  @inlinable
  public static func narrowToBF16(
    _ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<UInt16>, count: Int
  ) {
    for index in 0..<count { destination[index] = bf16(from: source[index]) }
  }
}
