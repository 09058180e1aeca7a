import EMoECore
import EMoENumerics
import Testing

/// ``NonFiniteValue`` finds the first NaN or infinity of every stored type, with its index and
/// byte offset, and finds nothing in finite tensors or integer types.
@Suite("NonFiniteValue: the first NaN or infinity of a tensor")
struct NonFiniteValueTests {
  static func tensor(_ dtype: DType, _ shape: Shape, _ bytes: [UInt8]) -> Tensor {
    Tensor(name: "t", dtype: dtype, shape: shape, storage: .owned(bytes))
  }

  @Test("F32, F64, F16 and BF16 are scanned on their bit patterns")
  func plainTypes() throws {
    var f32 = [Float](repeating: 1, count: 12)
    f32[7] = -.infinity
    f32[9] = .nan
    let found = try #require(
      try NonFiniteValue.first(in: Self.tensor(.f32, [3, 4], f32.withUnsafeBytes { Array($0) })))
    #expect(found.element == 7 && found.index == [1, 3] && found.valueText == "-inf")
    #expect(found.description == "-inf at element 7 (index [1, 3]) of [3, 4]")

    var f64 = [Double](repeating: 0.5, count: 6)
    f64[4] = .nan
    let double = try NonFiniteValue.first(
      in: Self.tensor(.f64, [6], f64.withUnsafeBytes { Array($0) }))
    #expect(double?.element == 4 && double?.value.isNaN == true)

    // F16 0x7C00 is +inf; BF16 0x7FC0 is NaN; 0x7BFF and 0x7F7F are the largest finite values.
    let f16: [UInt16] = [0x3C00, 0x7BFF, 0x7C00]
    let half = try NonFiniteValue.first(
      in: Self.tensor(.f16, [3], f16.withUnsafeBytes { Array($0) }))
    #expect(half?.element == 2 && half?.valueText == "+inf")
    let bf16: [UInt16] = [0x7F7F, 0x3F80, 0x7FC0]
    let brain = try NonFiniteValue.first(
      in: Self.tensor(.bf16, [3], bf16.withUnsafeBytes { Array($0) }))
    #expect(brain?.element == 2 && brain?.valueText == "NaN")

    let finite = [Float](repeating: 3e38, count: 8)
    #expect(
      try NonFiniteValue.first(in: Self.tensor(.f32, [8], finite.withUnsafeBytes { Array($0) }))
        == nil)
    // Integer codes hold no floats.
    #expect(
      try NonFiniteValue.first(
        in: Self.tensor(.i32, [2], [0xFF, 0xFF, 0x80, 0x7F] + [0, 0, 0, 0])) == nil)
  }

  @Test("GGUF blocks are decoded; the offset points at the block")
  func quantised() throws {
    // Two Q8_0 rows of 32: the second block's F16 scale is infinity.
    var bytes: [UInt8] = []
    for scale: UInt16 in [0x3C00, 0x7C00] {
      bytes += withUnsafeBytes(of: scale.littleEndian) { Array($0) }
      bytes += (0..<32).map { UInt8(bitPattern: Int8($0 - 16)) }
    }
    let found = try #require(try NonFiniteValue.first(in: Self.tensor(.q8_0, [2, 32], bytes)))
    #expect(found.element == 32 && found.index == [1, 0])
    #expect(found.value == -.infinity)
    #expect(found.byteOffset == nil)
    #expect(found.location(file: "m.gguf").description == "m.gguf: tensor 't'")
  }
}
