import EMoECore
import EMoEFormats
import EMoETestSupport
import Foundation
import Testing

@Suite("GGUF reader validation")
struct GGUFMalformedTests {
  static let folder = TestPaths.fixtures + "/malformed_gguf"

  /// The fixture manifest: file name → expected error kind (`nil` for valid files).
  static func manifest() throws -> [(file: String, kind: String?)] {
    let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/manifest.json"))
    let object = try JSONSerialization.jsonObject(with: data) as? [String: [String: Any]] ?? [:]
    return object.keys.sorted().map { name in (name, object[name]?["kind"] as? String) }
  }

  @Test("every malformed fixture is rejected with its specific error kind")
  func fixtures() throws {
    let entries = try Self.manifest()
    #expect(entries.count >= 40)
    for (file, kind) in entries {
      let path = Self.folder + "/" + file
      do {
        let parsed = try GGUFFile(path: path)
        if let kind { Issue.record("\(file): accepted, expected \(kind)") }
        #expect(parsed.tensors.count > 0)
      } catch let error as GGUFError {
        #expect(error.kind.rawValue == kind, "\(file): \(error)")
        #expect(error.location.file == path)
        #expect(error.location.offset != nil, "\(file): no byte offset in \(error)")
      }
    }
  }

  @Test("errors name the tensor or key concerned")
  func locations() throws {
    let duplicate = #expect(throws: GGUFError.self) {
      try GGUFFile(path: Self.folder + "/duplicate_key.gguf")
    }
    #expect(duplicate?.location.key == "general.name")
    let offset = #expect(throws: GGUFError.self) {
      try GGUFFile(path: Self.folder + "/unexpected_offset.gguf")
    }
    #expect(offset?.location.tensor == "b.weight")
    #expect(offset?.description.contains("expected 32") == true)
    let type = #expect(throws: GGUFError.self) {
      try GGUFFile(path: Self.folder + "/unsupported_tensor_type.gguf")
    }
    #expect(type?.description.contains("IQ2_XXS (16)") == true)
    let version = #expect(throws: GGUFError.self) {
      try GGUFFile(path: Self.folder + "/version_1.gguf")
    }
    #expect(version?.description.contains("version 1") == true)
    let endian = #expect(throws: GGUFError.self) {
      try GGUFFile(path: Self.folder + "/big_endian.gguf")
    }
    #expect(endian?.description.contains("big-endian") == true)
  }

  @Test("the valid baseline reads with the expected metadata and tensors")
  func valid() throws {
    let file = try GGUFFile(path: Self.folder + "/valid.gguf")
    #expect(file.version == 3)
    #expect(file.alignment == 32)
    #expect(
      file.keyValues.map(\.key) == [
        "general.architecture", "general.name", "tiny.count", "tiny.list", "tiny.flag",
      ])
    #expect(
      file.value(forKey: "tiny.list")
        == .array(
          elementType: .int32,
          elements: [
            .int32(-1), .int32(0), .int32(1),
          ]))
    #expect(file.tensorInfos.map(\.shape) == [[2, 4], [1, 32]])
    let a = try file.tensor(named: "a.weight")
    #expect(try a.floatValues() == [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5])
    #expect(throws: GGUFError.self) { try file.tensor(named: "missing") }
  }

  @Test("a file truncated at every byte position is rejected without a crash")
  func truncation() throws {
    try Self.checkEveryTruncation(of: Self.folder + "/valid.gguf")
  }

  /// Opens every prefix of the file at `path` and expects each to be rejected.
  static func checkEveryTruncation(of path: String) throws {
    let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
    let folder = try TemporaryDirectory()
    let cut = folder.file("cut.gguf")
    for length in 0..<bytes.count {
      try bytes.prefix(length).write(to: URL(fileURLWithPath: cut))
      do {
        _ = try GGUFFile(path: cut)
        Issue.record("\(path) cut to \(length) of \(bytes.count) bytes was accepted")
      } catch is GGUFError {
        continue
      }
    }
  }
}
