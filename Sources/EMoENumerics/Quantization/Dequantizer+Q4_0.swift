import EMoECore

extension Dequantizer {
  /// Q4_0: 18-byte blocks of 32 values, an F16 scale `d` and 16 bytes of 4-bit codes (low
  /// nibbles are values 0–15, high nibbles 16–31); `y = d · (q − 8)`.
  static func dequantizeQ4_0(
    _ source: UnsafeRawPointer, blockCount: Int, into destination: UnsafeMutablePointer<Float>
  ) {
    for block in 0..<blockCount {
      let input = source + block &* 18
      let output = destination + block &* 32
      let d = HalfPrecision.loadF16(input, 0)
      for j in 0..<16 {
        let byte = input.load(fromByteOffset: 2 &+ j, as: UInt8.self)
        output[j] = d * Float(Int32(byte & 0x0F) &- 8)
        output[j &+ 16] = d * Float(Int32(byte >> 4) &- 8)
      }
    }
  }
}
