import EMoECore

extension Dequantizer {
  /// Q8_K: 292-byte blocks of 256 values, an F32 scale `d`, 256 signed bytes and 16 block sums
  /// (unused here); `y = d · q`.
  static func dequantizeQ8_K(
    _ source: UnsafeRawPointer, blockCount: Int, into destination: UnsafeMutablePointer<Float>
  ) {
    for block in 0..<blockCount {
      let input = source + block &* 292
      let output = destination + block &* 256
      let d = Float(
        bitPattern: UInt32(littleEndian: input.loadUnaligned(fromByteOffset: 0, as: UInt32.self)))
      for j in 0..<256 {
        output[j] = d * Float(input.load(fromByteOffset: 4 &+ j, as: Int8.self))
      }
    }
  }
}
