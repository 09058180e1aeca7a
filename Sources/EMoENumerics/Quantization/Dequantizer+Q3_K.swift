import EMoECore

extension Dequantizer {
  /// Q3_K: 110-byte blocks of 256 values: a 32-byte high-bit mask, 64 bytes of 2-bit codes,
  /// 12 bytes holding sixteen 6-bit scales, then an F16 `d`.
  ///
  /// A value's code is its two low bits minus 4 when its mask bit is clear;
  /// `y = (d · (scale − 32)) · q`.
  static func dequantizeQ3_K(
    _ source: UnsafeRawPointer, blockCount: Int, into destination: UnsafeMutablePointer<Float>
  ) {
    for block in 0..<blockCount {
      let input = source + block &* 110
      let output = destination + block &* 256
      let d = HalfPrecision.loadF16(input, 108)
      for half in 0..<2 {
        for shift in 0..<4 {
          let group = half &* 4 &+ shift
          let bit = UInt8(1) &<< UInt8(group)
          for part in 0..<2 {
            let sub = group &* 2 &+ part
            let dl = d * Float(Q3KScales.scale(input + 96, sub))
            let first = part &* 16
            let out = output + sub &* 16
            for l in 0..<16 {
              let byte = input.load(fromByteOffset: 32 &+ half &* 32 &+ first &+ l, as: UInt8.self)
              let low = Int32((byte &>> UInt8(shift &* 2)) & 3)
              let mask = input.load(fromByteOffset: first &+ l, as: UInt8.self)
              let missing: Int32 = mask & bit != 0 ? 0 : 4
              out[l] = dl * Float(low &- missing)
            }
          }
        }
      }
    }
  }
}
