import EMoECore
import EMoEFormats
import EMoETestSupport
import Foundation
import Testing

@Suite("safetensors: checkpoint index validation, config and inspection")
struct SafeTensorsCheckpointTests {
  /// Writes shards `a.safetensors` (tensors x, y) and `b.safetensors` (tensor z) into a folder.
  private func makeShards() throws -> TemporaryDirectory {
    let directory = try TemporaryDirectory()
    try SafeTensorsWriter.write(
      to: directory.file("a.safetensors"),
      tensors: [
        Tensor(name: "x", shape: [2], float32: [1, 2]), Tensor(name: "y", shape: [1], float32: [3]),
      ])
    try SafeTensorsWriter.write(
      to: directory.file("b.safetensors"), tensors: [Tensor(name: "z", shape: [1], float32: [4])])
    return directory
  }

  private func writeIndex(_ json: String, in directory: TemporaryDirectory) throws -> String {
    let path = directory.file("model.safetensors.index.json")
    try Data(json.utf8).write(to: URL(fileURLWithPath: path))
    return path
  }

  private func openError(_ path: String) -> SafeTensorsError? {
    do {
      _ = try SafeTensorsCheckpoint(path: path)
      return nil
    } catch let error as SafeTensorsError {
      return error
    } catch {
      Issue.record("unexpected error \(error)")
      return nil
    }
  }

  @Test("a consistent hand-written index opens, shards in name order, numbers stringified")
  func consistentIndex() throws {
    let directory = try makeShards()
    let path = try writeIndex(
      """
      {"metadata": {"total_size": 16, "total_parameters": 4, "note": "hi"},
       "weight_map": {"z": "b.safetensors", "y": "a.safetensors", "x": "a.safetensors"}}
      """, in: directory)
    let checkpoint = try SafeTensorsCheckpoint(path: path)
    #expect(checkpoint.tensorInfos.map(\.name) == ["x", "y", "z"])
    #expect(checkpoint.metadata == .safetensors([("total_parameters", "4"), ("note", "hi")]))
    #expect(checkpoint.declaredTotalSize == 16)
    #expect(checkpoint.shard(containing: "z")?.path == directory.file("b.safetensors"))
    #expect(try checkpoint.tensor(named: "z").floatValues() == [4])
  }

  @Test("an index naming a tensor its shard lacks is a weight-map mismatch naming both")
  func tensorMissingFromShard() throws {
    let directory = try makeShards()
    let path = try writeIndex(
      #"{"weight_map": {"x": "a.safetensors", "y": "a.safetensors", "z": "b.safetensors", "w": "b.safetensors"}}"#,
      in: directory)
    let error = try #require(openError(path))
    #expect(error.kind == .weightMapMismatch)
    #expect(error.location.tensor == "w")
    #expect(error.description.contains("b.safetensors"))
    #expect(error.description.contains("Mismatch between weight map and model parts"))
  }

  @Test("a shard tensor absent from the weight map is a mismatch with its header offset")
  func tensorMissingFromMap() throws {
    let directory = try makeShards()
    let path = try writeIndex(
      #"{"weight_map": {"x": "a.safetensors", "z": "b.safetensors"}}"#, in: directory)
    let error = try #require(openError(path))
    #expect(error.kind == .weightMapMismatch)
    #expect(error.location.tensor == "y")
    #expect(error.location.file == directory.file("a.safetensors"))
    #expect(error.location.offset != nil)
  }

  @Test("a tensor mapped to the wrong shard, or present in two shards, is refused")
  func wrongShardAndDuplicates() throws {
    let directory = try makeShards()
    var path = try writeIndex(
      #"{"weight_map": {"x": "b.safetensors", "y": "a.safetensors", "z": "b.safetensors"}}"#,
      in: directory)
    #expect(openError(path)?.kind == .weightMapMismatch)
    #expect(openError(path)?.location.tensor == "x")

    try SafeTensorsWriter.write(
      to: directory.file("c.safetensors"), tensors: [Tensor(name: "z", shape: [1], float32: [5])])
    path = try writeIndex(
      #"{"weight_map": {"x": "a.safetensors", "y": "a.safetensors", "z": "c.safetensors", "q": "b.safetensors"}}"#,
      in: directory)
    let error = try #require(openError(path))
    #expect(error.kind == .weightMapMismatch)
    #expect(error.location.tensor == "z")
    #expect(error.description.contains("both"))
  }

  @Test("a missing shard, a bad weight_map or a path out of the folder is refused")
  func malformedIndexes() throws {
    let directory = try makeShards()
    let cases: [(String, SafeTensorsError.Kind)] = [
      (#"{"weight_map": {"x": "gone.safetensors"}}"#, .weightMapMismatch),
      (#"{"weight_map": {"x": 3}}"#, .invalidIndex),
      (#"{"weight_map": ["a.safetensors"]}"#, .invalidIndex),
      (#"{"metadata": {}}"#, .invalidIndex),
      (#"{"weight_map": {"x": "../a.safetensors"}}"#, .invalidIndex),
      (#"{"weight_map": {"x": "/etc/passwd"}}"#, .invalidIndex),
      (#"{"weight_map": {}, "metadata": {"total_size": -1}}"#, .invalidIndex),
      (#"{"weight_map": {}, "metadata": []}"#, .invalidIndex),
      (#"{"weight_map": {"x": "a.safetensors", "x": "b.safetensors"}}"#, .invalidIndex),
      (#"{"weight_map": "#, .invalidIndex),
    ]
    for (json, kind) in cases {
      let path = try writeIndex(json, in: directory)
      #expect(openError(path)?.kind == kind, "\(json)")
    }
    let emptyFolder = try TemporaryDirectory()
    #expect(openError(emptyFolder.path)?.kind == .invalidIndex)
    // A shard that is itself malformed reports the shard's own error.
    try Data([1, 2, 3]).write(to: URL(fileURLWithPath: directory.file("b.safetensors")))
    let path = try writeIndex(
      #"{"weight_map": {"x": "a.safetensors", "y": "a.safetensors", "z": "b.safetensors"}}"#,
      in: directory)
    let error = try #require(openError(path))
    #expect(error.kind == .headerTooSmall)
    #expect(error.location.file == directory.file("b.safetensors"))
  }

  @Test("config.json beside the model is parsed, and an invalid one is reported")
  func configBesideModel() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("model.safetensors")
    try SafeTensorsWriter.write(to: path, tensors: [Tensor(name: "w", shape: [1], float32: [1])])
    try Data(#"{"model_type": "bert", "hidden_size": 8}"#.utf8).write(
      to: URL(fileURLWithPath: directory.file("config.json")))
    let file = try SafeTensorsFile(path: path)
    #expect(file.config?["model_type"] == .string("bert"))
    #expect(try SafeTensorsCheckpoint(path: directory.path).config?["hidden_size"] == .integer(8))
    try Data("{oops".utf8).write(to: URL(fileURLWithPath: directory.file("config.json")))
    do {
      _ = try SafeTensorsFile(path: path)
      Issue.record("an invalid config.json was accepted")
    } catch let error as SafeTensorsError {
      #expect(error.kind == .invalidConfig)
      #expect(error.location.file == directory.file("config.json"))
    }
  }

  @Test("inspection lists every tensor with its shard, and its JSON carries the documented fields")
  func inspectionOfCheckpoint() throws {
    let directory = try makeShards()
    _ = try writeIndex(
      #"{"metadata": {"total_size": 16}, "weight_map": {"x": "a.safetensors", "y": "a.safetensors", "z": "b.safetensors"}}"#,
      in: directory)
    let report = try Inspection.report(path: directory.path, verifyChecksums: false)
    #expect(report.json["format"] == .string("safetensors"))
    #expect(report.json["files"]?.arrayValue?.count == 2)
    #expect(report.json["total_bytes"] == .integer(16))
    #expect(report.json["config"] == .null)
    let tensors = try #require(report.json["tensors"]?.arrayValue)
    #expect(tensors.map { $0["name"]?.stringValue } == ["x", "y", "z"])
    #expect(tensors[2]["file"] == .string(directory.file("b.safetensors")))
    #expect(tensors[0]["shape"] == .array([.integer(2)]))
    #expect(tensors[0]["bytes"] == .integer(8))
    #expect(report.text.contains("3 tensors, 16 bytes, 0 metadata entries"))
    #expect(report.text.contains("(2 files)"))

    let single = directory.file("a.safetensors")
    let one = try Inspection.report(path: single, verifyChecksums: false)
    #expect(one.json["metadata"] == .object([JSONMember("format", .string("pt"))]))
    #expect(one.json["tensors"]?.arrayValue?.first?["file"] == nil)
    #expect(one.text.hasPrefix(single + ": 2 tensors, 12 bytes, 1 metadata entry\n"))
    #expect(one.text.contains("metadata:\n  format: pt\n"))
  }
}
