import EMoECore
import EMoEFormats
import EMoETestSupport
import Foundation
import Testing

/// Deterministic bytes for test tensors.
func safeTensorsPattern(_ count: Int, seed: Int) -> [UInt8] {
  (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed &* 17 &+ 5) }
}

/// The plain dtypes every round trip covers (F8 types are carried as opaque bytes).
let safeTensorsPlainDTypes: [DType] = [
  .f64, .f32, .f16, .bf16, .i64, .i32, .i16, .i8, .u8, .bool, .f8E4M3, .f8E5M2,
]

/// One tensor of each plain dtype, with varied shapes (including a scalar and an empty one).
func safeTensorsSampleTensors() -> [Tensor] {
  let shapes: [Shape] = [
    [3, 2], [5], [], [2, 2, 2], [0, 4], [7], [1, 3], [4, 1], [6], [5], [3, 3], [2],
  ]
  return safeTensorsPlainDTypes.enumerated().map { index, dtype in
    let shape = shapes[index]
    let count = (shape.elementCount ?? 0) * dtype.blockBytes
    var bytes = safeTensorsPattern(count, seed: index)
    if dtype == .bool { bytes = bytes.map { $0 & 1 } }
    return Tensor(
      name: "layer.\(index).\(dtype.rawValue.lowercased())", dtype: dtype, shape: shape,
      storage: .owned(bytes))
  }
}

/// The file names in `directory`, hidden ones included.
func safeTensorsListing(_ directory: String) throws -> [String] {
  try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
}

@Suite("safetensors: writer, checkpoints and round trips")
struct SafeTensorsWriterTests {
  @Test("every plain dtype round-trips with its bytes, shape and metadata")
  func roundTripEveryDType() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("all.safetensors")
    let tensors = safeTensorsSampleTensors()
    try SafeTensorsWriter.write(
      to: path, tensors: tensors, metadata: [("zeta", "1"), ("alpha", "two words"), ("é", "ü")])
    let file = try SafeTensorsFile(path: path)
    #expect(file.entries.count == tensors.count)
    for tensor in tensors {
      let read = try file.tensor(named: tensor.name)
      #expect(read.dtype == tensor.dtype)
      #expect(read.shape == tensor.shape)
      let expected = tensor.withUnsafeBytes { Array($0) }
      #expect(read.withUnsafeBytes { Array($0) } == expected, "\(tensor.name)")
      guard case .mapped = read.storage else {
        Issue.record("read tensors must be zero-copy slices of the mapping")
        continue
      }
      // Natural alignment: each tensor's data starts at a multiple of its element size.
      let entry = try #require(file.entry(named: tensor.name))
      #expect(entry.fileOffset % max(1, tensor.dtype.blockBytes) == 0)
    }
    #expect(
      file.metadata
        == .safetensors([("format", "pt"), ("zeta", "1"), ("alpha", "two words"), ("é", "ü")]))
  }

  @Test("tensors are ordered by dtype alignment descending, then by name, whatever the input order")
  func deterministicOrder() throws {
    let directory = try TemporaryDirectory()
    let tensors =
      safeTensorsSampleTensors() + [
        Tensor(name: "b", shape: [1], float32: [1]), Tensor(name: "a", shape: [1], float32: [2]),
      ]
    let first = directory.file("first.safetensors")
    let second = directory.file("second.safetensors")
    try SafeTensorsWriter.write(to: first, tensors: tensors, metadata: [("k", "v")])
    try SafeTensorsWriter.write(to: second, tensors: tensors.reversed(), metadata: [("k", "v")])
    let bytesA = try #require(FileManager.default.contents(atPath: first))
    let bytesB = try #require(FileManager.default.contents(atPath: second))
    #expect(bytesA == bytesB)
    let names = try SafeTensorsFile(path: first).entries.map(\.name)
    let ranks = try SafeTensorsFile(path: first).entries.map { $0.dtype.safeTensorsRank ?? -1 }
    #expect(ranks == ranks.sorted(by: >))
    #expect(names.firstIndex(of: "a")! + 1 == names.firstIndex(of: "b")!)
    let headerLength = bytesA.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
    #expect(headerLength % 8 == 0)
    let header = String(decoding: bytesA[8..<(8 + Int(headerLength))], as: UTF8.self)
    #expect(header.hasPrefix(#"{"__metadata__":{"format":"pt","k":"v"},"#))
  }

  @Test("an empty checkpoint is the documented header and nothing else")
  func emptyFileGolden() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("empty.safetensors")
    try SafeTensorsWriter.write(to: path, tensors: [Tensor]())
    let bytes = Array(try #require(FileManager.default.contents(atPath: path)))
    let json = Array(#"{"__metadata__":{"format":"pt"}}"#.utf8)
    let padded = json + Array(repeating: UInt8(ascii: " "), count: (8 - json.count % 8) % 8)
    #expect(bytes == [UInt8(padded.count), 0, 0, 0, 0, 0, 0, 0] + padded)
    #expect(try SafeTensorsFile(path: path).entries.isEmpty)
  }

  @Test("a caller's format is kept, and the writer refuses what safetensors cannot hold")
  func writerValidation() throws {
    let layout = try SafeTensorsLayout(
      tensors: [SafeTensorsTensorDescription(name: "w", dtype: .f4, shape: [2, 2])],
      metadata: [("format", "mlx")])
    #expect(layout.metadata.map(\.key) == ["format"])
    #expect(layout.metadata.first?.value == "mlx")
    #expect(layout.byteRanges == [0..<2])

    func kind(
      _ tensors: [SafeTensorsTensorDescription], metadata: [(key: String, value: String)] = []
    )
      -> SafeTensorsError.Kind?
    {
      do {
        _ = try SafeTensorsLayout(tensors: tensors, metadata: metadata)
        return nil
      } catch {
        return error.kind
      }
    }
    let w = SafeTensorsTensorDescription(name: "w", dtype: .f32, shape: [2])
    #expect(kind([w, w]) == .invalidTensorName)
    #expect(
      kind([SafeTensorsTensorDescription(name: "__metadata__", dtype: .u8, shape: [1])])
        == .invalidTensorName)
    #expect(
      kind([SafeTensorsTensorDescription(name: "q", dtype: .q4_0, shape: [32])])
        == .unsupportedDType)
    #expect(
      kind([SafeTensorsTensorDescription(name: "f", dtype: .f4, shape: [3])]) == .misalignedSlice)
    #expect(
      kind([SafeTensorsTensorDescription(name: "big", dtype: .f64, shape: [Int.max / 2, 4])])
        == .validationOverflow)
    #expect(kind([w], metadata: [("a", "1"), ("a", "2")]) == .duplicateKey)
  }

  @Test("bytes of the wrong size, the wrong tensor, or a commit before all data are refused")
  func streamingWriterChecks() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("out.safetensors")
    let tensors = [
      SafeTensorsTensorDescription(name: "a", dtype: .f32, shape: [2]),
      SafeTensorsTensorDescription(name: "b", dtype: .f32, shape: [3]),
    ]
    let writer = try SafeTensorsWriter(destination: path, tensors: tensors)
    let eight = [UInt8](repeating: 1, count: 8)
    #expect(writer.nextTensor?.name == "a")
    #expect(throws: SafeTensorsError.self) {
      try eight.withUnsafeBytes { try writer.write($0, forTensor: "b") }
    }
    #expect(throws: SafeTensorsError.self) {
      try [UInt8](repeating: 1, count: 7).withUnsafeBytes { try writer.write($0, forTensor: "a") }
    }
    try eight.withUnsafeBytes { try writer.write($0, forTensor: "a") }
    // "b" arrives in pieces.
    try [UInt8](repeating: 2, count: 5).withUnsafeBytes { try writer.append($0, forTensor: "b") }
    #expect(throws: SafeTensorsError.self) {
      try [UInt8](repeating: 2, count: 8).withUnsafeBytes { try writer.append($0, forTensor: "b") }
    }
    do {
      try writer.commit()
      Issue.record("commit with missing bytes succeeded")
    } catch let error as SafeTensorsError {
      #expect(error.kind == .invalidWriteOrder)
      #expect(error.location.tensor == "b")
    }
    #expect(!FileManager.default.fileExists(atPath: path))
    #expect(try safeTensorsListing(directory.path).isEmpty)
  }

  @Test("a writer dropped without commit leaves neither the file nor its temporary file")
  func abandonedWriter() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("out.safetensors")
    do {
      let writer = try SafeTensorsWriter(
        destination: path,
        tensors: [SafeTensorsTensorDescription(name: "a", dtype: .u8, shape: [4])])
      try [UInt8](repeating: 9, count: 4).withUnsafeBytes { try writer.write($0, forTensor: "a") }
      #expect(try safeTensorsListing(directory.path).count == 1)  // the temporary file
    }
    #expect(!FileManager.default.fileExists(atPath: path))
    #expect(try safeTensorsListing(directory.path).isEmpty)
  }

  @Test("a producer that throws leaves no file, and an existing file is left untouched")
  func throwingProducer() throws {
    struct ProducerFailed: Error {}
    let directory = try TemporaryDirectory()
    let path = directory.file("out.safetensors")
    try SafeTensorsWriter.write(to: path, tensors: [Tensor(name: "old", shape: [1], float32: [7])])
    let before = try #require(FileManager.default.contents(atPath: path))
    let tensors = safeTensorsSampleTensors().map(SafeTensorsTensorDescription.init)
    var calls = 0
    #expect(throws: ProducerFailed.self) {
      try SafeTensorsWriter.write(to: path, tensors: tensors) { description in
        calls += 1
        if calls == 3 { throw ProducerFailed() }
        return .owned([UInt8](repeating: 0, count: description.byteCount ?? 0))
      }
    }
    #expect(FileManager.default.contents(atPath: path) == before)
    #expect(try safeTensorsListing(directory.path) == ["out.safetensors"])
  }

  @Test("a mapped source is copied straight into a new file, byte for byte")
  func copyFromMapping() throws {
    let directory = try TemporaryDirectory()
    let source = directory.file("source.safetensors")
    try SafeTensorsWriter.write(
      to: source, tensors: safeTensorsSampleTensors(), metadata: [("m", "1")])
    let input = try SafeTensorsFile(path: source)
    let copy = directory.file("copy.safetensors")
    try SafeTensorsWriter.write(
      to: copy, tensors: try input.entries.map { try input.tensor(named: $0.name) },
      metadata: [("m", "1")])
    #expect(
      FileManager.default.contents(atPath: copy) == FileManager.default.contents(atPath: source))
  }

  @Test("a sharded write splits by size, names shards like huggingface_hub and reads back whole")
  func shardedRoundTrip() throws {
    let directory = try TemporaryDirectory()
    let tensors = (0..<7).map { index in
      Tensor(
        name: "model.layers.\(index).weight", dtype: .f32, shape: [4, 4],
        storage: .owned(safeTensorsPattern(64, seed: index)))
    }
    let descriptions = tensors.map(SafeTensorsTensorDescription.init)
    var byName: [String: Tensor] = [:]
    for tensor in tensors { byName[tensor.name] = tensor }
    let written = try SafeTensorsWriter.writeCheckpoint(
      directory: directory.path, tensors: descriptions, metadata: [("origin", "test")],
      maximumShardSize: 150
    ) { byName[$0.name]!.storage }
    let expectedNames = (1...4).map { SafeTensorsShardPlan.shardName($0, of: 4) }
    #expect(
      written.map { FileSystem.basename(of: $0) } == expectedNames + [
        SafeTensorsCheckpoint.indexFileName
      ])
    #expect(expectedNames.first == "model-00001-of-00004.safetensors")
    #expect(
      try safeTensorsListing(directory.path)
        == (expectedNames + ["model.safetensors.index.json"]).sorted())

    let index = try JSONValue.parse(
      String(
        decoding: try #require(FileManager.default.contents(atPath: written.last!)), as: UTF8.self))
    #expect(index["metadata"]?["total_size"] == .integer(7 * 64))
    #expect(index["metadata"]?["origin"] == .string("test"))
    let mapKeys = index["weight_map"]?.objectValue?.map(\.key) ?? []
    #expect(mapKeys == descriptions.map(\.name).sorted())
    #expect(
      index["weight_map"]?["model.layers.6.weight"] == .string("model-00004-of-00004.safetensors"))

    for opened in [directory.path, written.last!] {
      let checkpoint = try SafeTensorsCheckpoint(path: opened)
      #expect(checkpoint.files.map { FileSystem.basename(of: $0) } == expectedNames)
      #expect(checkpoint.tensorInfos.map(\.name) == descriptions.map(\.name))
      #expect(checkpoint.metadata == .safetensors([("origin", "test")]))
      #expect(checkpoint.declaredTotalSize == 7 * 64)
      for tensor in tensors {
        let read = try checkpoint.tensor(named: tensor.name)
        #expect(read.withUnsafeBytes { Array($0) } == tensor.withUnsafeBytes { Array($0) })
      }
      #expect(throws: SafeTensorsError.self) { _ = try checkpoint.tensor(named: "missing") }
    }
    // Each shard is a complete file with its own metadata.
    let shard = try SafeTensorsFile(path: written[0])
    #expect(shard.metadata == .safetensors([("format", "pt"), ("origin", "test")]))
  }

  @Test("a checkpoint that fits one shard is a plain model.safetensors, read from its folder")
  func singleShardCheckpoint() throws {
    let directory = try TemporaryDirectory()
    let tensors = safeTensorsSampleTensors()
    let written = try SafeTensorsWriter.writeCheckpoint(
      directory: directory.path, tensors: tensors.map(SafeTensorsTensorDescription.init),
      maximumShardSize: 1 << 20
    ) { description in tensors.first { $0.name == description.name }!.storage }
    #expect(written == [directory.file("model.safetensors")])
    let checkpoint = try SafeTensorsCheckpoint(path: directory.path)
    #expect(checkpoint.indexPath == nil)
    #expect(checkpoint.tensorInfos.count == tensors.count)
    #expect(checkpoint.config == nil)
  }

  @Test("a sharded write whose producer throws leaves no shard and no index")
  func interruptedShardedWrite() throws {
    struct ProducerFailed: Error {}
    let directory = try TemporaryDirectory()
    let descriptions = (0..<6).map {
      SafeTensorsTensorDescription(name: "t\($0)", dtype: .u8, shape: [100])
    }
    var calls = 0
    #expect(throws: ProducerFailed.self) {
      try SafeTensorsWriter.writeCheckpoint(
        directory: directory.path, tensors: descriptions, maximumShardSize: 200
      ) { _ in
        calls += 1
        if calls == 5 { throw ProducerFailed() }
        return .owned([UInt8](repeating: 1, count: 100))
      }
    }
    #expect(try safeTensorsListing(directory.path).isEmpty)
  }

  @Test("the shard plan packs greedily and gives an oversized tensor its own shard")
  func shardPlan() {
    let sizes = [60, 60, 200, 10, 30, 90]
    let plan = SafeTensorsShardPlan(
      tensors: sizes.enumerated().map {
        SafeTensorsTensorDescription(name: "t\($0.offset)", dtype: .u8, shape: [$0.element])
      }, maximumShardSize: 100)
    #expect(
      plan.shards.map { $0.tensors.map(\.name) } == [["t0"], ["t1"], ["t2"], ["t3", "t4"], ["t5"]])
    #expect(plan.shards.map(\.byteCount) == [60, 60, 200, 40, 90])
    #expect(plan.totalByteCount == 450)
    #expect(SafeTensorsShardPlan.shardName(12, of: 345) == "model-00012-of-00345.safetensors")
  }
}
