import EMoECore
import EMoETestSupport
import Foundation
import Testing

@Suite("F16 and BF16 conversion")
struct HalfPrecisionTests {
  /// Floats that exercise rounding ties, subnormals, overflow, infinities and NaN.
  static let probes: [Float] = {
    var values: [Float] = [
      0, -0, 1, -1, 0.1, 1.0 / 3, 65504, 65519.99, 65520, 1e-8, 6e-8, 5.96e-8, 3e-5, -2.5e-6,
      .infinity, -.infinity, .nan, Float(bitPattern: 0xFFC0_0001), 3.4e38, -.leastNormalMagnitude,
      Float(bitPattern: 0x3F80_8000), Float(bitPattern: 0x3F81_8000),
      Float(bitPattern: 0x3F80_8001),
      Float(bitPattern: 0x7F7F_FFFF), Float(bitPattern: 0x0000_0001),
    ]
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    for _ in 0..<4000 {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      values.append(Float(bitPattern: UInt32(truncatingIfNeeded: state >> 32)))
    }
    return values
  }()

  @Test(
    "narrowing matches numpy's float16 and gguf's bf16 rounding bit for bit",
    .enabled(if: Oracles.python(["numpy"])))
  func narrowingMatchesNumpy() throws {
    try PythonOracle.require(["numpy"])
    let directory = try TemporaryDirectory()
    let input = directory.file("in.f32")
    try Self.probes.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: input)) }
    let script = """
      import sys, numpy as np
      x = np.fromfile(sys.argv[1], dtype=np.float32)
      f16 = x.astype(np.float16).view(np.uint16)
      n = x.view(np.uint32).astype(np.uint64)
      bf = ((n + 0x7FFF + ((n >> 16) & 1)) >> 16).astype(np.uint16)
      nan = np.isnan(x)
      bf[nan] = ((n[nan] >> 16) | 64).astype(np.uint16)
      print(" ".join(map(str, f16.tolist())))
      print(" ".join(map(str, bf.tolist())))
      """
    let lines = try PythonOracle.check(script, arguments: [input]).split(separator: "\n")
    let expectedF16 = lines[0].split(separator: " ").map { UInt16($0)! }
    let expectedBF16 = lines[1].split(separator: " ").map { UInt16($0)! }
    for (index, value) in Self.probes.enumerated() {
      let f16 = HalfPrecision.f16(from: value)
      if value.isNaN {
        #expect(Float16(bitPattern: f16).isNaN)
        #expect(Float16(bitPattern: expectedF16[index]).isNaN)
      } else {
        #expect(f16 == expectedF16[index], "F16 of \(value)")
      }
      #expect(HalfPrecision.bf16(from: value) == expectedBF16[index], "BF16 of \(value)")
    }
  }

  @Test("widening is exact and agrees with the bulk routines")
  func widening() {
    var f16Bits = [UInt16](0...UInt16.max)
    var widened = [Float](repeating: 0, count: f16Bits.count)
    f16Bits.withUnsafeMutableBytes { raw in
      widened.withUnsafeMutableBufferPointer { out in
        HalfPrecision.widenF16(raw.baseAddress!, into: out.baseAddress!, count: out.count)
      }
    }
    for bits in f16Bits {
      let value = widened[Int(bits)]
      let half = Float16(bitPattern: bits)
      if half.isNaN {
        #expect(value.isNaN)
      } else {
        #expect(value == Float(half))
        #expect(HalfPrecision.f16(from: value) == bits, "F16 round trip of \(bits)")
      }
      let bf = HalfPrecision.float(fromBF16: bits)
      #expect(bf.bitPattern == UInt32(bits) << 16)
      if !bf.isNaN { #expect(HalfPrecision.bf16(from: bf) == bits) }
    }
    f16Bits.removeAll()
  }
}
