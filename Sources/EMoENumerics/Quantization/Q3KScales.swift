/// The packing of Q3_K's sixteen 6-bit scales into 12 bytes.
enum Q3KScales {
  /// Scale `index` (0–15) minus 32: low four bits from bytes 0–7 (low nibbles for 0–7, high
  /// nibbles for 8–15), high two bits from bytes 8–11.
  @inline(__always)
  static func scale(_ scales: UnsafeRawPointer, _ index: Int) -> Int32 {
    let lowByte = scales.load(fromByteOffset: index & 7, as: UInt8.self)
    let low = index < 8 ? lowByte & 0x0F : lowByte >> 4
    let highByte = scales.load(fromByteOffset: 8 &+ (index & 3), as: UInt8.self)
    let high = (highByte >> UInt8((index >> 2) &* 2)) & 3
    return Int32(low | (high << 4)) &- 32
  }
}
