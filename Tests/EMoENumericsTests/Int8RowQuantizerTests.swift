import EMoECore
import EMoENumerics
import EMoETestSupport
import Foundation
import Testing

@Suite("Per-row int8 quantisation")
struct Int8RowQuantizerTests {
  @Test("scale is max|x| / 127 and codes round half away from zero")
  func definition() {
    let row: [Float] = [127, -2.5, 2.5, 0.5, -0.49999997, 63.5, -127, 0]
    let (codes, scales) = Int8RowQuantizer.quantize(row, rows: 1, columns: row.count)
    #expect(scales == [1])
    #expect(codes == [127, -3, 3, 1, 0, 64, -127, 0])
  }

  @Test("a zero row has scale 0 and codes 0, and decodes to zeros")
  func zeroRow() {
    let (codes, scales) = Int8RowQuantizer.quantize([0, 0, 0, 0, 0, 0], rows: 2, columns: 3)
    #expect(scales == [0, 0])
    #expect(codes == [0, 0, 0, 0, 0, 0])
    #expect(Int8RowQuantizer.dequantize(codes, scales: scales, columns: 3) == [0, 0, 0, 0, 0, 0])
  }

  @Test(
    "codes and scales equal numpy's evaluation of the same definition",
    .enabled(if: Oracles.python(["numpy", "gguf"])))
  func numpyOracle() throws {
    try PythonOracle.require(["numpy", "gguf"])
    let folder = try TemporaryDirectory()
    let script = #"""
      import sys, numpy as np
      from gguf.quants import np_roundf
      rng = np.random.default_rng(3)
      rows, cols = 64, 301
      x = (rng.standard_normal((rows, cols)) * np.exp(rng.uniform(-30, 30, (rows, 1)))).astype(np.float32)
      x[5] = 0
      x[6, :] = (rng.integers(-126, 126, cols) + 0.5).astype(np.float32); x[6, 0] = 127
      scale = (np.abs(x).max(axis=1, keepdims=True) / np.float32(127)).astype(np.float32)
      inv = np.where(scale == 0, np.float32(0), np.float32(1) / scale).astype(np.float32)
      q = np_roundf(x * inv).astype(np.int8)
      x.astype("<f4").tofile(sys.argv[1] + "/x.bin")
      q.tofile(sys.argv[1] + "/q.bin")
      scale.astype("<f4").tofile(sys.argv[1] + "/s.bin")
      """#
    _ = try PythonOracle.check(script, arguments: [folder.path])
    let x = try CodecTestSupport.floats(folder.file("x.bin"))
    let expectedCodes = try CodecTestSupport.bytes(folder.file("q.bin")).map {
      Int8(bitPattern: $0)
    }
    let expectedScales = try CodecTestSupport.floats(folder.file("s.bin"))
    let (codes, scales) = Int8RowQuantizer.quantize(x, rows: 64, columns: 301)
    #expect(scales.map(\.bitPattern) == expectedScales.map(\.bitPattern))
    #expect(codes == expectedCodes)
    let decoded = Int8RowQuantizer.dequantize(codes, scales: scales, columns: 301)
    for row in 0..<64 {
      for column in 0..<301 {
        let index = row * 301 + column
        #expect(decoded[index] == Float(codes[index]) * scales[row])
      }
    }
  }
}
