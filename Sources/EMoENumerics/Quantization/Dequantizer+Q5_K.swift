import EMoECore

extension Dequantizer {
  /// Q5_K: 176-byte blocks of 256 values: F16 `d` and `dmin`, 12 bytes of 6-bit scales and
  /// minimums (as Q4_K), 32 bytes of fifth bits (bit `b` of byte `l` belongs to value
  /// `32b + l`), then 128 bytes of low nibbles laid out as Q4_K's codes;
  /// `y = (d · scale) · q − dmin · min`.
  static func dequantizeQ5_K(
    _ source: UnsafeRawPointer, blockCount: Int, into destination: UnsafeMutablePointer<Float>
  ) {
    for block in 0..<blockCount {
      let input = source + block &* 176
      let output = destination + block &* 256
      let d = HalfPrecision.loadF16(input, 0)
      let dmin = HalfPrecision.loadF16(input, 2)
      let high = input + 16
      for chunk in 0..<4 {
        // As Q4_K, plus the fifth bit: bit 2·chunk (low nibbles) or 2·chunk + 1 of `high[l]`.
        let (scale0, min0) = KQuantScales.scaleAndMin(input + 4, chunk &* 2)
        let (scale1, min1) = KQuantScales.scaleAndMin(input + 4, chunk &* 2 &+ 1)
        let dl0 = d * Float(scale0)
        let ml0 = dmin * Float(min0)
        let dl1 = d * Float(scale1)
        let ml1 = dmin * Float(min1)
        let codes = input + (48 &+ chunk &* 32)
        let out = output + chunk &* 64
        let bit0 = UInt8(1) &<< UInt8(chunk &* 2)
        let bit1 = UInt8(2) &<< UInt8(chunk &* 2)
        for l in 0..<32 {
          let byte = codes.load(fromByteOffset: l, as: UInt8.self)
          let fifth = high.load(fromByteOffset: l, as: UInt8.self)
          let q0 = (byte & 0x0F) | (fifth & bit0 != 0 ? 16 : 0)
          let q1 = (byte >> 4) | (fifth & bit1 != 0 ? 16 : 0)
          out[l] = dl0 * Float(q0) - ml0
          out[l &+ 32] = dl1 * Float(q1) - ml1
        }
      }
    }
  }
}
