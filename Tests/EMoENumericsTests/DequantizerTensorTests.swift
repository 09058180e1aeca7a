import EMoECore
import EMoENumerics
import EMoETestSupport
import Foundation
import Testing

@Suite("Decoding whole tensors and single rows")
struct DequantizerTensorTests {
  /// A Q6_K tensor of shape [rows, 512] made from the golden blocks, with its expected values.
  func goldenTensor(rows: Int) throws -> (Tensor, [Float]) {
    let folder = CodecTestSupport.goldenFolder
    let blocks = try CodecTestSupport.bytes(folder + "/Q6_K.blocks.bin")
    let values = try CodecTestSupport.floats(folder + "/Q6_K.f32.bin")
    let bytes = Array(blocks[0..<(rows * 2 * 210)])
    let tensor = Tensor(name: "w", dtype: .q6_K, shape: [rows, 512], storage: .owned(bytes))
    return (tensor, Array(values[0..<(rows * 512)]))
  }

  @Test("decode(tensor:) equals the block decoder, and each row decodes on its own")
  func tensorAndRows() throws {
    let (tensor, expected) = try goldenTensor(rows: 8)
    let all = try Dequantizer.decode(tensor: tensor)
    #expect(CodecTestSupport.firstMismatch(all, expected) == nil)
    #expect(Dequantizer.rowCount(of: tensor) == 8)
    #expect(Dequantizer.rowLength(of: tensor) == 512)
    for row in 0..<8 {
      let values = try Dequantizer.decodeRow(of: tensor, row: row)
      let slice = Array(expected[(row * 512)..<(row * 512 + 512)])
      #expect(CodecTestSupport.firstMismatch(values, slice) == nil)
    }
  }

  @Test("floats(of:) decodes every stored type: blocks, F16, BF16 and F64")
  func floatsOfAnyType() throws {
    let (blocks, expected) = try goldenTensor(rows: 2)
    #expect(CodecTestSupport.firstMismatch(try Dequantizer.floats(of: blocks), expected) == nil)
    let doubles: [Double] = [1.5, -0.1, 1e300, .nan]
    let f64 = Tensor(
      name: "d", dtype: .f64, shape: [4], storage: .owned(doubles.withUnsafeBytes { Array($0) }))
    let wide = try Dequantizer.floats(of: f64)
    #expect(wide[0] == 1.5 && wide[1] == Float(-0.1) && wide[2] == .infinity && wide[3].isNaN)
    let halves: [UInt16] = [0x3C00, 0xC000, 0x7C00, 0x0001]
    let f16 = Tensor(
      name: "h", dtype: .f16, shape: [4], storage: .owned(halves.withUnsafeBytes { Array($0) }))
    #expect(try Dequantizer.floats(of: f16) == [1, -2, .infinity, 0x1p-24])
    let bf16 = Tensor(
      name: "b", dtype: .bf16, shape: [4], storage: .owned(halves.withUnsafeBytes { Array($0) }))
    #expect(try Dequantizer.floats(of: bf16) == halves.map { Float(bitPattern: UInt32($0) << 16) })
    let short = Tensor(name: "s", dtype: .f64, shape: [4], storage: .owned([0, 0, 0, 0]))
    #expect(throws: DequantizationError.self) { try Dequantizer.floats(of: short) }
  }

  @Test("large tensors decode in parallel chunks to the same values")
  func parallel() throws {
    var generator = SplitMix64(seed: 9)
    let values = (0..<(32 * 20_000)).map { _ in Float(generator.nextGaussian()) }
    let bytes = try Q8_0Quantizer.quantize(values)
    let tensor = Tensor(name: "big", dtype: .q8_0, shape: [20_000, 32], storage: .owned(bytes))
    let serial = try bytes.withUnsafeBytes { try Dequantizer.dequantize(.q8_0, from: $0) }
    let difference = BitDifference.between(try Dequantizer.decode(tensor: tensor), serial)
    #expect(difference == nil, "\(difference.map(String.init(describing:)) ?? "")")
  }

  @Test("bad rows, sizes and types are reported, not trapped")
  func errors() throws {
    let (tensor, _) = try goldenTensor(rows: 2)
    #expect(throws: DequantizationError.self) { try Dequantizer.decodeRow(of: tensor, row: 2) }
    #expect(throws: DequantizationError.self) { try Dequantizer.decodeRow(of: tensor, row: -1) }
    let short = Tensor(name: "s", dtype: .q6_K, shape: [2, 512], storage: .owned([0, 1, 2]))
    #expect(throws: DequantizationError.self) { try Dequantizer.decode(tensor: short) }
    let ragged = Tensor(
      name: "r", dtype: .q8_0, shape: [32, 2], storage: .owned([UInt8](repeating: 0, count: 68)))
    #expect(throws: DequantizationError.self) { try Dequantizer.decode(tensor: ragged) }
    let odd = Tensor(name: "i", dtype: .i32, shape: [1], storage: .owned([0, 0, 0, 0]))
    #expect(throws: DequantizationError.self) { try Dequantizer.decode(tensor: odd) }
  }
}
