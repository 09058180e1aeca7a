import EMoECore
import EMoENumerics
import EMoETestSupport
import Foundation
import Testing

@Suite("Q8_0 quantisation")
struct Q8_0QuantizerTests {
  @Test("quantisation is byte-identical to gguf.quants.quantize on the golden blocks")
  func golden() throws {
    let folder = CodecTestSupport.goldenFolder
    let input = try CodecTestSupport.floats(folder + "/Q8_0.quantize.f32.bin")
    let expected = try CodecTestSupport.bytes(folder + "/Q8_0.quantize.expected.bin")
    let actual = try Q8_0Quantizer.quantize(input)
    #expect(actual.count == expected.count)
    for block in 0..<(min(actual.count, expected.count) / 34) {
      let range = (block * 34)..<(block * 34 + 34)
      if Array(actual[range]) != Array(expected[range]) {
        Issue.record(
          "block \(block): got \(Array(actual[range])) expected \(Array(expected[range]))")
        break
      }
    }
  }

  @Test("exact halves round away from zero")
  func ties() throws {
    // amax 127 gives d = 1 and id = 1, so each value is its own scaled value.
    var values: [Float] = [127, -2.5, 2.5, -0.5, 0.5, 1.5, -1.5, 126.5, -126.5]
    values += [Float](repeating: 0, count: 32 - values.count)
    let bytes = try Q8_0Quantizer.quantize(values)
    let codes = bytes[2..<11].map { Int8(bitPattern: $0) }
    #expect(codes == [127, -3, 3, -1, 1, 2, -2, 127, -127])
    #expect(UInt16(bytes[0]) | UInt16(bytes[1]) << 8 == Float16(1).bitPattern)
  }

  @Test("a zero block has scale 0 and codes 0; non-finite values give code 0")
  func zerosAndNonFinite() throws {
    #expect(
      try Q8_0Quantizer.quantize([Float](repeating: 0, count: 32))
        == [UInt8](repeating: 0, count: 34))
    var withInfinity = [Float](repeating: 1, count: 32)
    withInfinity[4] = .infinity
    let bytes = try Q8_0Quantizer.quantize(withInfinity)
    #expect(UInt16(bytes[0]) | UInt16(bytes[1]) << 8 == 0x7C00)
    #expect(bytes[2...].allSatisfy { $0 == 0 })
  }

  @Test("round trip error stays within half a step plus the scale's F16 rounding")
  func roundTrip() throws {
    var generator = SplitMix64(seed: 42)
    let values = (0..<(32 * 64)).map { _ in Float(generator.nextGaussian()) }
    let bytes = try Q8_0Quantizer.quantize(values)
    let decoded = try bytes.withUnsafeBytes { try Dequantizer.dequantize(.q8_0, from: $0) }
    for block in 0..<64 {
      let slice = values[(block * 32)..<(block * 32 + 32)]
      let step = slice.map(\.magnitude).max()! / 127
      // Codes were rounded against the exact step; the stored F16 step differs from it.
      let stored = Float(Float16(step))
      let bound = step * 0.5001 + 127 * abs(stored - step)
      for index in slice.indices {
        #expect(abs(decoded[index] - values[index]) <= bound)
      }
    }
  }

  @Test("counts that are not whole blocks are rejected")
  func rejects() {
    #expect(throws: QuantizationError.self) { try Q8_0Quantizer.quantize([1, 2, 3]) }
  }
}

/// A small deterministic generator for test data.
struct SplitMix64 {
  var state: UInt64

  init(seed: UInt64) { state = seed }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A uniform value in [0, 1).
  mutating func nextUniform() -> Double { Double(next() >> 11) / Double(1 << 53) }

  /// A standard normal value (Box–Muller).
  mutating func nextGaussian() -> Double {
    let u = max(nextUniform(), 1e-300)
    let v = nextUniform()
    return (-2 * Foundation.log(u)).squareRoot() * Foundation.cos(2 * Double.pi * v)
  }
}
