import EMoECore
import EMoEFormats
import EMoENumerics
import EMoETestSupport
import Foundation
import Testing

@Suite("GGUF writer")
struct GGUFWriterTests {
  @Test("a written file reads back with equal metadata, types, tensors and layout")
  func roundTrip() throws {
    let folder = try TemporaryDirectory()
    let path = folder.file("out.gguf")
    let tensors = GGUFTestSupport.sampleTensors()
    try GGUFWriter.write(to: path, metadata: GGUFTestSupport.sampleMetadata, tensors: tensors)
    let file = try GGUFFile(path: path)
    #expect(file.version == 3)
    #expect(file.alignment == 64)
    #expect(file.keyValues.map(\.key) == GGUFTestSupport.sampleMetadata.map(\.key))
    for (read, written) in zip(file.keyValues, GGUFTestSupport.sampleMetadata) {
      #expect(GGUFTestSupport.canonical(read.value) == GGUFTestSupport.canonical(written.value))
    }
    #expect(file.tensors.map(\.name) == tensors.map(\.name))
    for tensor in tensors {
      let read = try file.tensor(named: tensor.name)
      #expect(read.dtype == tensor.dtype)
      #expect(read.shape == tensor.shape)
      #expect(read.withUnsafeBytes { Array($0) } == tensor.withUnsafeBytes { Array($0) })
    }
    for info in file.tensors { #expect(info.fileOffset % 64 == 0) }
    // Padding after the last tensor too: the file ends on an alignment boundary.
    #expect((FileSystem.size(path) ?? 0) % 64 == 0)
  }

  @Test("output is deterministic and copying a file reproduces its bytes")
  func deterministic() throws {
    let folder = try TemporaryDirectory()
    let first = folder.file("a.gguf")
    let second = folder.file("b.gguf")
    let tensors = GGUFTestSupport.sampleTensors()
    try GGUFWriter.write(to: first, metadata: GGUFTestSupport.sampleMetadata, tensors: tensors)
    try GGUFWriter.write(to: second, metadata: GGUFTestSupport.sampleMetadata, tensors: tensors)
    let copy = folder.file("c.gguf")
    try GGUFWriter.copy(try GGUFFile(path: first), to: copy)
    let bytes = try Data(contentsOf: URL(fileURLWithPath: first))
    #expect(bytes == (try Data(contentsOf: URL(fileURLWithPath: second))))
    #expect(bytes == (try Data(contentsOf: URL(fileURLWithPath: copy))))
  }

  @Test("tensor data may be streamed in chunks; nothing appears before finish")
  func chunks() throws {
    let folder = try TemporaryDirectory()
    let path = folder.file("chunked.gguf")
    let values = (0..<(32 * 8)).map { Float($0) - 100 }
    let writer = try GGUFWriter(
      destination: path, metadata: [("general.architecture", .string("x"))],
      tensors: [
        .init(name: "q", dtype: .q8_0, shape: [8, 32]),
        .init(name: "empty", dtype: .f32, shape: [0, 4]),
        .init(name: "f", dtype: .f32, shape: [3]),
      ])
    for row in 0..<8 {
      let bytes = try Q8_0Quantizer.quantize(Array(values[(row * 32)..<(row * 32 + 32)]))
      try bytes.withUnsafeBytes { try writer.append($0) }
    }
    #expect(writer.nextTensor?.name == "empty")
    try writer.append(UnsafeRawBufferPointer(start: nil, count: 0))
    #expect(!FileSystem.exists(path))
    #expect(throws: GGUFError.self) { try writer.finish() }
    try [Float](arrayLiteral: 1, 2, 3).withUnsafeBytes { try writer.append($0) }
    #expect(throws: GGUFError.self) {
      try [UInt8](repeating: 0, count: 4).withUnsafeBytes { try writer.append($0) }
    }
    try writer.finish()
    let file = try GGUFFile(path: path)
    #expect(file.tensorInfos.map(\.shape) == [[8, 32], [0, 4], [3]])
    let decoded = try Dequantizer.decode(tensor: try file.tensor(named: "q"))
    let expected = try Q8_0Quantizer.quantize(values).withUnsafeBytes {
      try Dequantizer.dequantize(.q8_0, from: $0)
    }
    let difference = BitDifference.between(decoded, expected)
    #expect(difference == nil, "\(difference.map(String.init(describing:)) ?? "")")
  }

  @Test("metadata and plans a reader would reject are refused up front")
  func rejections() throws {
    let folder = try TemporaryDirectory()
    let path = folder.file("bad.gguf")
    func refuses(
      _ kind: GGUFError.Kind, metadata: [(key: String, value: GGUFValue)] = [],
      tensors: [GGUFWriter.TensorPlan] = [], sourceLocation: SourceLocation = #_sourceLocation
    ) {
      let error = #expect(throws: GGUFError.self, sourceLocation: sourceLocation) {
        _ = try GGUFWriter(destination: path, metadata: metadata, tensors: tensors)
      }
      #expect(error?.kind == kind, sourceLocation: sourceLocation)
    }
    refuses(.duplicateKey, metadata: [("a", .uint8(1)), ("a", .uint8(2))])
    refuses(.invalidKey, metadata: [("", .uint8(1))])
    refuses(
      .nestedArray,
      metadata: [("a", .array(elementType: .array, elements: []))])
    refuses(
      .invalidValue,
      metadata: [("a", .array(elementType: .uint8, elements: [.uint8(1), .int8(1)]))])
    refuses(.invalidAlignment, metadata: [("general.alignment", .uint32(48))])
    refuses(.invalidAlignment, metadata: [("general.alignment", .uint64(32))])
    refuses(
      .invalidTensorName,
      tensors: [.init(name: String(repeating: "n", count: 64), dtype: .f32, shape: [1])])
    refuses(.invalidTensorName, tensors: [.init(name: "", dtype: .f32, shape: [1])])
    refuses(
      .duplicateTensorName,
      tensors: [
        .init(name: "a", dtype: .f32, shape: [1]), .init(name: "a", dtype: .f32, shape: [1]),
      ])
    refuses(.tooManyDimensions, tensors: [.init(name: "a", dtype: .f32, shape: [1, 1, 1, 1, 1])])
    refuses(.rowNotBlockMultiple, tensors: [.init(name: "a", dtype: .q4_K, shape: [2, 128])])
    refuses(.unsupportedTensorType, tensors: [.init(name: "a", dtype: .u8, shape: [4])])
    #expect(!FileSystem.exists(path))
    // A 63-byte name is the longest allowed.
    let longest = String(repeating: "n", count: 63)
    try GGUFWriter.write(
      to: path, metadata: [], tensors: [Tensor(name: longest, shape: [1], float32: [1])])
    #expect(try GGUFFile(path: path).tensors.first?.name == longest)
  }

  @Test("a larger written file, truncated at every byte, is rejected without a crash")
  func truncation() throws {
    let folder = try TemporaryDirectory()
    let path = folder.file("t.gguf")
    let tensors = Array(GGUFTestSupport.sampleTensors().prefix(4))
    try GGUFWriter.write(
      to: path, metadata: Array(GGUFTestSupport.sampleMetadata.prefix(16)), tensors: tensors)
    try GGUFMalformedTests.checkEveryTruncation(of: path)
  }
}
