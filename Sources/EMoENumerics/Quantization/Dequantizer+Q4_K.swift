import EMoECore

extension Dequantizer {
  /// Q4_K: 144-byte blocks of 256 values: F16 `d` and `dmin`, 12 bytes holding eight 6-bit
  /// scales and minimums, then 128 bytes of 4-bit codes.
  ///
  /// Each 32-byte chunk of codes gives two 32-value sub-blocks (low nibbles, then high);
  /// `y = (d · scale) · q − dmin · min`.
  static func dequantizeQ4_K(
    _ source: UnsafeRawPointer, blockCount: Int, into destination: UnsafeMutablePointer<Float>
  ) {
    for block in 0..<blockCount {
      let input = source + block &* 144
      let output = destination + block &* 256
      let d = HalfPrecision.loadF16(input, 0)
      let dmin = HalfPrecision.loadF16(input, 2)
      for chunk in 0..<4 {
        // Each 32-byte chunk of codes holds sub-block 2·chunk (low nibbles) and 2·chunk + 1.
        let (scale0, min0) = KQuantScales.scaleAndMin(input + 4, chunk &* 2)
        let (scale1, min1) = KQuantScales.scaleAndMin(input + 4, chunk &* 2 &+ 1)
        let dl0 = d * Float(scale0)
        let ml0 = dmin * Float(min0)
        let dl1 = d * Float(scale1)
        let ml1 = dmin * Float(min1)
        let codes = input + (16 &+ chunk &* 32)
        let out = output + chunk &* 64
        for l in 0..<32 {
          let byte = codes.load(fromByteOffset: l, as: UInt8.self)
          out[l] = dl0 * Float(byte & 0x0F) - ml0
          out[l &+ 32] = dl1 * Float(byte >> 4) - ml1
        }
      }
    }
  }
}
