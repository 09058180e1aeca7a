import EMoECore
import Testing

@Suite("F16 conversions without F16C: bit for bit as Float16")
struct HalfPrecisionBitsTests {
  @Test("widening equals Float16 conversion for all 65536 bit patterns")
  func widening() {
    for bits in 0...UInt16.max {
      let expected = Float(Float16(bitPattern: bits))
      let actual = HalfPrecision.float(fromF16: bits)
      if expected.isNaN {
        #expect(actual.isNaN)
      } else if actual.bitPattern != expected.bitPattern {
        Issue.record("F16 0x\(String(bits, radix: 16)): \(actual) vs \(expected)")
        return
      }
    }
  }

  @Test("narrowing equals Float16(Float) on every float bit pattern in a stride, and at edges")
  func narrowing() {
    var patterns: [UInt32] = Array(stride(from: 0, through: UInt32.max - 1000, by: 4093))
    // Rounding boundaries: around 65504/65520, the subnormal and normal F16 ranges, ties.
    let edges: [Float] = [
      65504, 65519.996, 65520, 65535.996, 65536, 6.1035156e-05, 6.097555e-05, 5.9604645e-08,
      2.9802322e-08, 2.9802326e-08, 8.940697e-08, 1.0009766, 1.0004883, 1.0014648, 0.33333334,
      -0.0, .infinity, -.infinity, .greatestFiniteMagnitude, .leastNonzeroMagnitude,
    ]
    patterns += edges.flatMap { value in
      (-2...2).map { value.bitPattern &+ UInt32(bitPattern: Int32($0)) }
    }
    for bits in patterns {
      let value = Float(bitPattern: bits)
      let expected = Float16(value)
      let actual = HalfPrecision.f16(from: value)
      if expected.isNaN {
        #expect(Float16(bitPattern: actual).isNaN)
        #expect(actual & 0x0200 != 0, "quiet bit")
      } else if actual != expected.bitPattern {
        let got = String(actual, radix: 16)
        let want = String(expected.bitPattern, radix: 16)
        Issue.record("F32 0x\(String(bits, radix: 16)) (\(value)): 0x\(got) vs 0x\(want)")
        return
      }
    }
  }
}
