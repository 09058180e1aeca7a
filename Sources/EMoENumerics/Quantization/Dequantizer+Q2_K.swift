import EMoECore

extension Dequantizer {
  /// Q2_K: 84-byte blocks of 256 values: 16 scale bytes (low nibble scale, high nibble minimum
  /// of each 16-value sub-block), 64 bytes of 2-bit codes, then F16 `d` and `dmin`.
  ///
  /// Each 128-value half uses 32 code bytes four times (shifts 0, 2, 4, 6);
  /// `y = (d · scale) · q − dmin · min`.
  static func dequantizeQ2_K(
    _ source: UnsafeRawPointer, blockCount: Int, into destination: UnsafeMutablePointer<Float>
  ) {
    for block in 0..<blockCount {
      let input = source + block &* 84
      let output = destination + block &* 256
      let d = HalfPrecision.loadF16(input, 80)
      let dmin = HalfPrecision.loadF16(input, 82)
      for half in 0..<2 {
        for shift in 0..<4 {
          for part in 0..<2 {
            let sub = half &* 8 &+ shift &* 2 &+ part
            let scale = input.load(fromByteOffset: sub, as: UInt8.self)
            let dl = d * Float(scale & 0x0F)
            let ml = dmin * Float(scale >> 4)
            let codes = 16 &+ half &* 32 &+ part &* 16
            let out = output + sub &* 16
            for l in 0..<16 {
              let byte = input.load(fromByteOffset: codes &+ l, as: UInt8.self)
              out[l] = dl * Float((byte &>> UInt8(shift &* 2)) & 3) - ml
            }
          }
        }
      }
    }
  }
}
