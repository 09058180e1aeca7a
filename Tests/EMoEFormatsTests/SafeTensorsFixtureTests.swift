import EMoECore
import EMoEFormats
import EMoETestSupport
import Foundation
import Testing

/// One case of `Fixtures/malformed_safetensors/manifest.json`.
struct MalformedSafeTensorsCase: Sendable, CustomStringConvertible {
  var file: String
  var expect: String
  var reference: String
  var tensor: String?
  var offset: Int?
  var tensors: Int?

  var path: String { MalformedSafeTensorsCase.folder + "/" + file }
  var description: String { file }

  static var folder: String { TestPaths.fixtures + "/malformed_safetensors" }

  /// Every case in the committed manifest.
  static let all: [MalformedSafeTensorsCase] = {
    guard let data = FileManager.default.contents(atPath: folder + "/manifest.json"),
      let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
      let cases = root["cases"] as? [[String: Any]]
    else { return [] }
    return cases.map { entry in
      MalformedSafeTensorsCase(
        file: entry["file"] as? String ?? "", expect: entry["expect"] as? String ?? "",
        reference: entry["reference"] as? String ?? "", tensor: entry["tensor"] as? String,
        offset: entry["offset"] as? Int, tensors: entry["tensors"] as? Int)
    }
  }()
}

@Suite("safetensors: malformed and edge-case fixtures")
struct SafeTensorsFixtureTests {
  @Test("the manifest lists every fixture file, and there are cases for every reader error kind")
  func manifestIsComplete() throws {
    let cases = MalformedSafeTensorsCase.all
    #expect(cases.count > 40)
    let onDisk = try FileManager.default.contentsOfDirectory(
      atPath: MalformedSafeTensorsCase.folder
    )
    .filter { $0.hasSuffix(".safetensors") }
    #expect(Set(onDisk) == Set(cases.map(\.file)))
    let kinds = Set(cases.map(\.expect))
    let readerKinds: [SafeTensorsError.Kind] = [
      .headerTooSmall, .headerTooLarge, .invalidHeaderLength, .invalidHeader,
      .invalidHeaderDeserialization, .duplicateKey, .invalidOffset, .validationOverflow,
      .misalignedSlice, .tensorInvalidInfo, .metadataIncompleteBuffer,
    ]
    for kind in readerKinds { #expect(kinds.contains(kind.rawValue), "no fixture for \(kind)") }
    #expect(kinds.contains("valid"))
  }

  @Test(
    "each fixture is accepted or rejected with its specific kind, tensor and file offset",
    arguments: MalformedSafeTensorsCase.all)
  func fixture(_ fixture: MalformedSafeTensorsCase) throws {
    if fixture.expect == "valid" {
      let file = try SafeTensorsFile(path: fixture.path)
      #expect(file.entries.count == fixture.tensors)
      for entry in file.entries {
        let tensor = try file.tensor(named: entry.name)
        #expect(tensor.byteCount == entry.byteCount)
      }
      return
    }
    do {
      _ = try SafeTensorsFile(path: fixture.path)
      Issue.record("\(fixture.file) was accepted; expected \(fixture.expect)")
    } catch let error as SafeTensorsError {
      #expect(error.kind.rawValue == fixture.expect, "\(error)")
      #expect(error.location.file == fixture.path)
      if let tensor = fixture.tensor { #expect(error.location.tensor == tensor, "\(error)") }
      if let offset = fixture.offset { #expect(error.location.offset == offset, "\(error)") }
      #expect(error.location.offset != nil, "every reader error points into the file: \(error)")
      #expect(error.description.hasPrefix(fixture.path + ": "))
    }
  }

  @Test(
    "the Rust reference (Python safetensors) judges every fixture as the manifest says",
    .enabled(if: Oracles.python(["safetensors"])))
  func referenceAgrees() throws {
    try PythonOracle.require(["safetensors"])
    let script = """
      import json, sys
      from safetensors import safe_open
      kinds = [("header too small", "HeaderTooSmall"), ("header too large", "HeaderTooLarge"),
               ("invalid header length", "InvalidHeaderLength"), ("invalid UTF-8", "InvalidHeader"),
               ("invalid JSON", "InvalidHeaderDeserialization"), ("invalid offset", "InvalidOffset"),
               ("invalid shape, data type", "TensorInvalidInfo"),
               ("overflow computing", "ValidationOverflow"), ("subbytes", "MisalignedSlice"),
               ("incomplete metadata", "MetadataIncompleteBuffer")]
      verdicts = {}
      for path in sys.argv[1:]:
          try:
              with safe_open(path, framework="np") as f:
                  list(f.keys())
              verdicts[path] = "valid"
          except Exception as error:
              message = str(error)
              verdicts[path] = next((k for s, k in kinds if s in message), "unknown: " + message)
      print(json.dumps(verdicts))
      """
    let cases = MalformedSafeTensorsCase.all
    let output = try PythonOracle.check(script, arguments: cases.map(\.path))
    let verdicts = try #require(
      JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: String])
    for fixture in cases {
      #expect(verdicts[fixture.path] == fixture.reference, "\(fixture.file)")
    }
  }

  @Test(
    "cutting a valid file at every byte position is rejected with the right kind, never a crash")
  func truncationAtEveryByte() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("small.safetensors")
    try SafeTensorsWriter.write(
      to: path,
      tensors: [
        Tensor(name: "a", shape: [2, 3], float32: [1, 2, 3, 4, 5, 6]),
        Tensor(
          name: "b", dtype: .i16, shape: [3], storage: .owned([1, 0, 2, 0, 3, 0])),
        Tensor(name: "empty", dtype: .u8, shape: [0], storage: .owned([])),
      ], metadata: [("note", "truncation")])
    let whole = try #require(FileManager.default.contents(atPath: path))
    let full = try SafeTensorsFile(path: path)
    let dataStart = full.header.dataStart
    for length in 0..<whole.count {
      let prefix = Array(whole.prefix(length))
      let expected: SafeTensorsError.Kind =
        length < 8
        ? .headerTooSmall : length < dataStart ? .invalidHeaderLength : .metadataIncompleteBuffer
      do {
        _ = try prefix.withUnsafeBytes { try SafeTensorsHeader(file: $0, path: "cut") }
        Issue.record("a prefix of \(length) bytes was accepted")
      } catch let error as SafeTensorsError {
        #expect(error.kind == expected, "length \(length): \(error)")
      }
      // The same through a real file and its mapping.
      let cut = directory.file("cut.safetensors")
      try Data(prefix).write(to: URL(fileURLWithPath: cut))
      #expect(throws: SafeTensorsError.self) { _ = try SafeTensorsFile(path: cut) }
    }
  }

  @Test("corrupting any single byte of a valid file never crashes the reader")
  func singleByteCorruption() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("small.safetensors")
    try SafeTensorsWriter.write(
      to: path,
      tensors: [
        Tensor(name: "w", shape: [2, 2], float32: [1, -2, 3, -4]),
        Tensor(name: "bias", dtype: .bf16, shape: [2], storage: .owned([0x80, 0x3F, 0, 0x40])),
      ], metadata: [("k", "v")])
    let original = Array(try #require(FileManager.default.contents(atPath: path)))
    var accepted = 0
    var rejected = 0
    for position in original.indices {
      for replacement: UInt8 in [
        0x00, 0x22, 0x2C, 0x5D, 0x7D, 0x39, 0xFF, original[position] ^ 0x01,
      ] {
        var bytes = original
        bytes[position] = replacement
        do {
          let header = try bytes.withUnsafeBytes { try SafeTensorsHeader(file: $0, path: "x") }
          // Whatever is accepted must describe in-bounds, contiguous data.
          var end = header.dataStart
          for entry in header.entries {
            #expect(entry.fileOffset == end)
            end += entry.byteCount
          }
          #expect(end == bytes.count)
          accepted += 1
        } catch {
          rejected += 1
        }
      }
    }
    #expect(rejected > 0 && accepted > 0)
  }
}
