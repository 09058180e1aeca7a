/// The packing of Q4_K's and Q5_K's eight 6-bit scales and minimums into 12 bytes.
enum KQuantScales {
  /// The scale and minimum of sub-block `index` (0–7).
  @inline(__always)
  static func scaleAndMin(_ bytes: UnsafeRawPointer, _ index: Int) -> (UInt8, UInt8) {
    if index < 4 {
      let scale = bytes.load(fromByteOffset: index, as: UInt8.self) & 0x3F
      let minimum = bytes.load(fromByteOffset: index &+ 4, as: UInt8.self) & 0x3F
      return (scale, minimum)
    }
    let packed = bytes.load(fromByteOffset: index &+ 4, as: UInt8.self)
    let scaleHigh = bytes.load(fromByteOffset: index &- 4, as: UInt8.self) >> 6
    let minimumHigh = bytes.load(fromByteOffset: index, as: UInt8.self) >> 6
    return ((packed & 0x0F) | (scaleHigh << 4), (packed >> 4) | (minimumHigh << 4))
  }
}
