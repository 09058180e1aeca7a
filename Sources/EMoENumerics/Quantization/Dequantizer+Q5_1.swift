import EMoECore

extension Dequantizer {
  /// Q5_1: 24-byte blocks of 32 values, F16 scale `d` and minimum `m`, a little-endian 32-bit
  /// word of fifth bits, and 16 bytes of low nibbles; `y = d · q + m`.
  static func dequantizeQ5_1(
    _ source: UnsafeRawPointer, blockCount: Int, into destination: UnsafeMutablePointer<Float>
  ) {
    for block in 0..<blockCount {
      let input = source + block &* 24
      let output = destination + block &* 32
      let d = HalfPrecision.loadF16(input, 0)
      let m = HalfPrecision.loadF16(input, 2)
      let high = UInt32(littleEndian: input.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
      for j in 0..<16 {
        let byte = UInt32(input.load(fromByteOffset: 8 &+ j, as: UInt8.self))
        // Testing each bit against a constant mask vectorises; per-lane shifts do not (SSE2).
        let low = (byte & 0x0F) | (high & (1 << UInt32(j)) != 0 ? 16 : 0)
        let upper = (byte >> 4) | (high & (0x1_0000 << UInt32(j)) != 0 ? 16 : 0)
        output[j] = d * Float(low) + m
        output[j &+ 16] = d * Float(upper) + m
      }
    }
  }
}
