import EMoECore

extension Dequantizer {
  /// Q8_0: 34-byte blocks of 32 values, an F16 scale `d` and 32 signed bytes; `y = q · d`.
  static func dequantizeQ8_0(
    _ source: UnsafeRawPointer, blockCount: Int, into destination: UnsafeMutablePointer<Float>
  ) {
    for block in 0..<blockCount {
      let input = source + block &* 34
      let output = destination + block &* 32
      let d = HalfPrecision.loadF16(input, 0)
      for j in 0..<32 {
        output[j] = Float(input.load(fromByteOffset: 2 &+ j, as: Int8.self)) * d
      }
    }
  }
}
