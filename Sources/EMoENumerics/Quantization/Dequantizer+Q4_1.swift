import EMoECore

extension Dequantizer {
  /// Q4_1: 20-byte blocks of 32 values, F16 scale `d` and minimum `m`, then 16 bytes of 4-bit
  /// codes (low nibbles are values 0–15, high nibbles 16–31); `y = d · q + m`.
  static func dequantizeQ4_1(
    _ source: UnsafeRawPointer, blockCount: Int, into destination: UnsafeMutablePointer<Float>
  ) {
    for block in 0..<blockCount {
      let input = source + block &* 20
      let output = destination + block &* 32
      let d = HalfPrecision.loadF16(input, 0)
      let m = HalfPrecision.loadF16(input, 2)
      for j in 0..<16 {
        let byte = input.load(fromByteOffset: 4 &+ j, as: UInt8.self)
        output[j] = d * Float(byte & 0x0F) + m
        output[j &+ 16] = d * Float(byte >> 4) + m
      }
    }
  }
}
