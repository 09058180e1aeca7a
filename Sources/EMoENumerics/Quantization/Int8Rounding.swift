/// Check-free rounding of a float to an int8 code, exactly as gguf-py's `np_roundf` followed by
/// numpy's `astype(np.int8)` on x86-64.
///
/// Finite values round half away from zero (`2.5 → 3`, `−2.5 → −3`); NaN and ±infinity give 0
/// (the x86 conversion result numpy produces). Callers pass a value times `1 / scale` where the
/// scale is the largest magnitude over 127, so magnitudes stay below about 127.0001; anything
/// from 127.5 up (unreachable that way) also gives 0, so no input can trap or wrap.
///
/// Swift's `Int8(_: Float)` traps on out-of-range values, and that check keeps the loops from
/// being vectorised; this formulation uses only compares, selects and bit patterns.
enum Int8Rounding {
  /// `2^23`: adding it to a value in `[0, 2^22)` leaves the value rounded to an integer (to
  /// nearest, ties to even) in the low mantissa bits.
  static let magic: Float = 8_388_608

  /// The int8 code of `value`, rounded half away from zero.
  @inline(__always)
  static func code(_ value: Float) -> Int8 {
    let magnitude = Float(bitPattern: value.bitPattern & 0x7FFF_FFFF)
    // NaN fails every comparison, so it lands on 0 with the infinities.
    let inRange = magnitude < 127.5 ? magnitude : 0
    let shifted = inRange + magic
    var integer = Int32(bitPattern: shifted.bitPattern & 0xFF)
    // Ties went to even; move exact halves that went down up by one, away from zero.
    integer &+= inRange - (shifted - magic) == 0.5 ? 1 : 0
    let negative = Int32(bitPattern: value.bitPattern) >> 31
    return Int8(truncatingIfNeeded: (integer ^ negative) &- negative)
  }

  /// The int8 codes of 16 values at once, exactly as ``code(_:)`` gives them one by one.
  @inline(__always)
  static func codes(_ value: SIMD16<Float>) -> SIMD16<Int8> {
    let bits = unsafeBitCast(value, to: SIMD16<Int32>.self)
    let magnitude = unsafeBitCast(bits & 0x7FFF_FFFF, to: SIMD16<Float>.self)
    let inRange = SIMD16<Float>(repeating: 0).replacing(with: magnitude, where: magnitude .< 127.5)
    let shifted = inRange + magic
    // The low byte of `shifted`'s bit pattern is the rounded magnitude (ties to even).
    var integer = unsafeBitCast(shifted, to: SIMD16<Int32>.self)
    let tie = inRange - (shifted - magic) .== 0.5
    integer &+= SIMD16<Int32>(repeating: 0).replacing(with: 1, where: tie)
    let negative = bits &>> 31
    return SIMD16<Int8>(truncatingIfNeeded: (integer ^ negative) &- negative)
  }
}
