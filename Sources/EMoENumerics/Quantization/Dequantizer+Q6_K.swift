import EMoECore

extension Dequantizer {
  /// Q6_K: 210-byte blocks of 256 values: 128 bytes of low nibbles, 64 bytes of high bit pairs,
  /// sixteen signed 8-bit scales, then an F16 `d`.
  ///
  /// In each 128-value half, value `r` takes nibble `r / 64` of low byte `r % 64` and bit pair
  /// `r / 32` of high byte `r % 32`; `y = (d · scale) · (q − 32)`, with one scale per 16 values.
  static func dequantizeQ6_K(
    _ source: UnsafeRawPointer, blockCount: Int, into destination: UnsafeMutablePointer<Float>
  ) {
    for block in 0..<blockCount {
      let input = source + block &* 210
      let output = destination + block &* 256
      let d = HalfPrecision.loadF16(input, 208)
      for half in 0..<2 {
        let low = input + half &* 64
        let high = input + (128 &+ half &* 32)
        let out = output + half &* 128
        for part in 0..<2 {
          // The four 32-value groups of this half share the loads; part picks 16 of each 32.
          let scales = input + (192 &+ half &* 8 &+ part)
          let d0 = d * Float(scales.load(fromByteOffset: 0, as: Int8.self))
          let d1 = d * Float(scales.load(fromByteOffset: 2, as: Int8.self))
          let d2 = d * Float(scales.load(fromByteOffset: 4, as: Int8.self))
          let d3 = d * Float(scales.load(fromByteOffset: 6, as: Int8.self))
          let first = part &* 16
          for l in first..<(first &+ 16) {
            let a = low.load(fromByteOffset: l, as: UInt8.self)
            let b = low.load(fromByteOffset: l &+ 32, as: UInt8.self)
            let h = high.load(fromByteOffset: l, as: UInt8.self)
            out[l] = d0 * Float(Int32((a & 0x0F) | ((h & 3) << 4)) &- 32)
            out[l &+ 32] = d1 * Float(Int32((b & 0x0F) | (((h >> 2) & 3) << 4)) &- 32)
            out[l &+ 64] = d2 * Float(Int32((a >> 4) | (((h >> 4) & 3) << 4)) &- 32)
            out[l &+ 96] = d3 * Float(Int32((b >> 4) | (((h >> 6) & 3) << 4)) &- 32)
          }
        }
      }
    }
  }
}
