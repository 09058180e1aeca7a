/// Exact conversions between F32 and F16 bit patterns written with integer operations, selects
/// and one float addition, so they inline and vectorise.
///
/// The package builds for baseline x86-64 (no F16C), where `Float(Float16)` and `Float16(Float)`
/// are library calls per value. These give bit-identical results to them for every non-NaN
/// input (round to nearest, ties to even, when narrowing). NaN stays NaN: widening shifts the
/// payload as it is, narrowing keeps the top payload bits and sets the quiet bit (as compiler-rt,
/// numpy and ggml do for quiet NaNs).
public enum HalfBits {
  /// The F32 value of the F16 bit pattern `half`.
  @inlinable @inline(__always)
  public static func float(_ half: UInt16) -> Float {
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

  /// The F16 bit pattern nearest to `value` (ties to even; overflow gives infinity).
  @inlinable @inline(__always)
  public static func f16(_ value: Float) -> UInt16 {
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

  /// The F32 value of the little-endian F16 stored at `offset` bytes past `base`.
  @inlinable @inline(__always)
  public static func load(_ base: UnsafeRawPointer, _ offset: Int) -> Float {
    float(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
  }
}
