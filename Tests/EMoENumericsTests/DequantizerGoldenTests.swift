import EMoECore
import EMoENumerics
import EMoETestSupport
import Foundation
import Testing

@Suite("Dequantizer against committed gguf-py golden vectors")
struct DequantizerGoldenTests {
  static let goldenTypes: [DType] = [
    .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K,
  ]

  @Test("every decoder equals gguf.quants.dequantize bit for bit", arguments: goldenTypes)
  func golden(dtype: DType) throws {
    let folder = CodecTestSupport.goldenFolder
    let blocks = try CodecTestSupport.bytes(folder + "/\(dtype.rawValue).blocks.bin")
    let expected = try CodecTestSupport.floats(folder + "/\(dtype.rawValue).f32.bin")
    #expect(blocks.count % dtype.blockBytes == 0)
    #expect(expected.count == blocks.count / dtype.blockBytes * dtype.blockSize)
    let actual = try blocks.withUnsafeBytes { raw in
      try Dequantizer.dequantize(dtype, from: raw)
    }
    if let index = CodecTestSupport.firstMismatch(actual, expected) {
      Issue.record(
        "\(dtype.rawValue): \(CodecTestSupport.describe(actual, expected, at: index))")
    }
  }

  @Test("decoding block by block gives the same values as decoding all at once")
  func blockByBlock() throws {
    let dtype = DType.q6_K
    let blocks = try CodecTestSupport.bytes(CodecTestSupport.goldenFolder + "/Q6_K.blocks.bin")
    let expected = try CodecTestSupport.floats(CodecTestSupport.goldenFolder + "/Q6_K.f32.bin")
    var actual = [Float](repeating: 0, count: expected.count)
    blocks.withUnsafeBytes { raw in
      actual.withUnsafeMutableBufferPointer { out in
        for block in 0..<(raw.count / dtype.blockBytes) {
          Dequantizer.dequantizeBlocks(
            dtype, from: raw.baseAddress! + block * dtype.blockBytes, blockCount: 1,
            into: out.baseAddress! + block * dtype.blockSize)
        }
      }
    }
    #expect(CodecTestSupport.firstMismatch(actual, expected) == nil)
  }

  @Test("F16 widening equals Float16 conversion for all 65536 bit patterns")
  func everyHalf() throws {
    let patterns = (0...UInt16.max).map { $0 }
    let actual = try patterns.withUnsafeBytes { try Dequantizer.dequantize(.f16, from: $0) }
    let expected = patterns.map { Float(Float16(bitPattern: $0)) }
    if let index = CodecTestSupport.firstMismatch(actual, expected) {
      Issue.record(Comment(rawValue: CodecTestSupport.describe(actual, expected, at: index)))
    }
  }

  @Test("F32 values are copied bit for bit, NaN payloads included")
  func f32Copy() throws {
    let values: [Float] = [
      1, -0.0, .infinity, Float(bitPattern: 0x7FA0_0001), .leastNonzeroMagnitude,
    ]
    let decoded = try values.withUnsafeBytes { try Dequantizer.dequantize(.f32, from: $0) }
    #expect(decoded.map(\.bitPattern) == values.map(\.bitPattern))
  }

  @Test("sizes that are not whole blocks and unsupported types are rejected")
  func rejections() throws {
    let bytes = [UInt8](repeating: 0, count: 35)
    bytes.withUnsafeBytes { raw in
      #expect(throws: DequantizationError.self) { try Dequantizer.dequantize(.q8_0, from: raw) }
      #expect(throws: DequantizationError.self) { try Dequantizer.dequantize(.q8_1, from: raw) }
      var output = [Float](repeating: 0, count: 31)
      output.withUnsafeMutableBufferPointer { out in
        let exact = UnsafeRawBufferPointer(rebasing: raw[0..<34])
        #expect(throws: DequantizationError.self) {
          try Dequantizer.dequantize(.q8_0, from: exact, into: out)
        }
      }
    }
    #expect(!Dequantizer.supports(.q8_1))
    #expect(Dequantizer.supports(.q6_K))
  }
}
