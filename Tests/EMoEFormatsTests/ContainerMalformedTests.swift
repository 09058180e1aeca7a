import EMoECore
import EMoEFormats
import EMoETestSupport
import Testing

/// One malformed file per validation rule, each made from a valid container by a precise byte
/// edit (with the header checksum recomputed when the edit is in the manifest, so that only the
/// rule under test is broken).
@Suite("ContainerFile refuses malformed files")
struct ContainerMalformedTests {
  /// A valid sample container's bytes (some tensors compressed) and a scratch folder.
  struct Fixture {
    let directory: TemporaryDirectory
    let bytes: [UInt8]

    init() throws {
      directory = try TemporaryDirectory()
      let path = directory.file("valid.emoe")
      try SampleContainer.make(compression: .zstd(level: 3), alternate: true).write(to: path)
      bytes = try ContainerBytes.read(path)
    }

    /// Opens `bytes` written to a file and returns the error, if any.
    func openError(_ bytes: [UInt8]) throws -> ContainerError? {
      let path = directory.file("edited.emoe")
      try ContainerBytes.write(bytes, to: path)
      do {
        _ = try ContainerFile(path: path)
        return nil
      } catch {
        return error
      }
    }

    /// Applies `edit` to the manifest, opens the file and returns the error.
    func manifestError(_ edit: (inout JSONValue) -> Void) throws -> ContainerError? {
      var copy = bytes
      try ContainerBytes.editManifest(&copy, edit)
      return try openError(copy)
    }

    /// The manifest of the valid file.
    func manifest() throws -> JSONValue { try ContainerBytes.manifest(bytes) }
  }

  @Test("the valid sample opens, so every failure below is the edit's doing")
  func validBaseline() throws {
    let fixture = try Fixture()
    #expect(try fixture.openError(fixture.bytes) == nil)
    var rewritten = fixture.bytes
    try ContainerBytes.editManifest(&rewritten) { _ in }
    #expect(rewritten == fixture.bytes, "re-serialising the manifest must give the same bytes")
  }

  @Test("bad magic is reported as not a container")
  func badMagic() throws {
    let fixture = try Fixture()
    var bytes = fixture.bytes
    bytes[3] = UInt8(ascii: "X")
    let error = try fixture.openError(bytes)
    #expect(error?.kind == .notAContainer)
    #expect(error?.description.contains("EMOEPACK") == true)
    #expect(try fixture.openError(Array("GGUF\u{3}\0\0\0".utf8))?.kind == .notAContainer)
  }

  @Test("an unsupported version is refused before the checksum is looked at")
  func unsupportedVersion() throws {
    let fixture = try Fixture()
    var bytes = fixture.bytes
    bytes[8] = 2
    let error = try fixture.openError(bytes)
    #expect(error?.kind == .unsupportedVersion(2))
    #expect(error?.description.contains("version 2") == true)
  }

  @Test("an unknown required feature is refused by name")
  func unknownFeature() throws {
    let fixture = try Fixture()
    let error = try fixture.manifestError { json in
      json.set(
        [.key("required_features")],
        .array([.string("zstd"), .string("int8_rows"), .string("sparse_bits")]))
    }
    #expect(error?.kind == .unknownRequiredFeature("sparse_bits"))
    #expect(error?.description.contains("'sparse_bits'") == true)
    // Unknown optional members, by contrast, are ignored.
    let ignored = try fixture.manifestError { json in
      json.set([.key("future_field")], .object([JSONMember("x", .integer(1))]))
      json.set([.key("tensors"), .index(0), .key("future")], .bool(true))
      json.set([.key("layers"), .index(0), .key("router_temperature")], .number(0.5))
    }
    #expect(ignored == nil)
  }

  @Test("integral numbers such as 16.0 count as integers, as JSON Schema counts them")
  func integralNumbers() throws {
    let fixture = try Fixture()
    let accepted = try fixture.manifestError { json in
      json.set([.key("tensors"), .index(0), .key("shape")], .array([.number(8), .number(16)]))
      json.set([.key("layers"), .index(0), .key("top_k")], .number(2))
    }
    #expect(accepted == nil)
    let fractional = try fixture.manifestError { json in
      json.set([.key("layers"), .index(0), .key("top_k")], .number(2.5))
    }
    #expect(fractional?.kind == .invalidManifest)
  }

  @Test("a used feature missing from required_features is an invalid manifest")
  func undeclaredFeature() throws {
    let error = try Fixture().manifestError { json in
      json.set([.key("required_features")], .array([.string("int8_rows")]))
    }
    #expect(error?.kind == .invalidManifest)
    #expect(error?.description.contains("zstd") == true)
  }

  @Test("a manifest byte changed without fixing the checksum fails the header checksum")
  func badHeaderChecksum() throws {
    let fixture = try Fixture()
    var bytes = fixture.bytes
    bytes[100] ^= 0x01
    #expect(try fixture.openError(bytes)?.kind == .headerChecksumMismatch)
    var field = fixture.bytes
    field[50] ^= 0x80
    #expect(try fixture.openError(field)?.kind == .headerChecksumMismatch)
  }

  @Test("header fields out of range are refused")
  func headerFields() throws {
    let fixture = try Fixture()
    let dataOffset = ContainerBytes.field(fixture.bytes, at: 32)
    var cases: [(String, [UInt8])] = []
    var bytes = fixture.bytes
    bytes[12] = 32
    cases.append(("header size", bytes))
    bytes = fixture.bytes
    ContainerBytes.setField(&bytes, at: 16, 128)
    cases.append(("manifest offset", bytes))
    bytes = fixture.bytes
    ContainerBytes.setField(&bytes, at: 24, ContainerBytes.field(bytes, at: 24) - 8)
    ContainerBytes.setField(&bytes, at: 32, dataOffset - 8)
    cases.append(("data offset alignment", bytes))
    bytes = fixture.bytes
    ContainerBytes.setField(&bytes, at: 32, dataOffset + 64)
    cases.append(("data offset", bytes))
    bytes = fixture.bytes
    ContainerBytes.setField(&bytes, at: 24, 1 << 40)
    cases.append(("manifest length", bytes))
    bytes = fixture.bytes
    bytes[60] = 1
    cases.append(("reserved", bytes))
    bytes = fixture.bytes + [0, 0, 0, 0]
    cases.append(("trailing data", bytes))
    for (name, edited) in cases {
      #expect(try fixture.openError(edited)?.kind == .invalidHeader, "\(name)")
    }
  }

  @Test("a file shorter than its header says is truncated")
  func truncated() throws {
    let fixture = try Fixture()
    for length in [0, 5, 11, 40, 63, 64, 200, fixture.bytes.count - 1] {
      let error = try fixture.openError(Array(fixture.bytes[0..<length]))
      #expect(error?.kind == .truncated, "length \(length): \(String(describing: error))")
    }
  }

  @Test("overlapping tensors are refused")
  func overlapping() throws {
    let fixture = try Fixture()
    let manifest = try fixture.manifest()
    let first = try #require(manifest[path: [.key("tensors"), .index(0), .key("offset")]])
    let error = try fixture.manifestError { json in
      json.set([.key("tensors"), .index(1), .key("offset")], first)
    }
    #expect(error?.kind == .overlappingTensors)
    #expect(error?.location.tensor == "embeddings.position_ids")
  }

  @Test("a misaligned tensor offset is refused")
  func misaligned() throws {
    let fixture = try Fixture()
    let offset = try #require(
      try fixture.manifest()[path: [.key("tensors"), .index(2), .key("offset")]]?.intValue)
    let error = try fixture.manifestError { json in
      json.set([.key("tensors"), .index(2), .key("offset")], .integer(Int64(offset + 8)))
    }
    #expect(error?.kind == .misalignedTensor)
    #expect(error?.location.offset == offset + 8)
  }

  @Test("a tensor reaching past the end of the file, or before the data, is refused")
  func outOfRange() throws {
    let fixture = try Fixture()
    let last = try #require(try fixture.manifest()["tensors"]?.arrayValue?.count) - 1
    let beyond = try fixture.manifestError { json in
      json.set(
        [.key("tensors"), .index(last), .key("offset")], .integer(Int64(fixture.bytes.count + 64)))
    }
    #expect(beyond?.kind == .tensorOutOfRange)
    let huge = try fixture.manifestError { json in
      json.set([.key("tensors"), .index(last), .key("stored_length")], .integer(Int64.max))
      json.set([.key("tensors"), .index(last), .key("raw_length")], .integer(Int64.max))
    }
    #expect(huge?.kind == .invalidManifest || huge?.kind == .tensorOutOfRange)
    let before = try fixture.manifestError { json in
      json.set([.key("tensors"), .index(0), .key("offset")], .integer(0))
    }
    #expect(before?.kind == .tensorOutOfRange)
  }

  @Test("a hole between tensors is refused")
  func gap() throws {
    let fixture = try Fixture()
    let offset = try #require(
      try fixture.manifest()[path: [.key("tensors"), .index(1), .key("offset")]]?.intValue)
    let error = try fixture.manifestError { json in
      json.set([.key("tensors"), .index(1), .key("offset")], .integer(Int64(offset + 64)))
    }
    #expect(error?.kind == .unexpectedGap)
  }

  @Test("a corrupt zstd frame with a matching stored checksum fails decompression")
  func badCompressionFrame() throws {
    let fixture = try Fixture()
    let manifest = try fixture.manifest()
    let tensors = try #require(manifest["tensors"]?.arrayValue)
    let position = try #require(tensors.firstIndex { $0["compression"] == .string("zstd") })
    let name = try #require(tensors[position]["name"]?.stringValue)
    let offset = try #require(tensors[position]["offset"]?.intValue)
    let length = try #require(tensors[position]["stored_length"]?.intValue)
    var bytes = fixture.bytes
    bytes[offset] ^= 0xFF  // the frame's magic number
    let digest = XXH64.hash(Array(bytes[offset..<(offset + length)]))
    try ContainerBytes.editManifest(&bytes) { json in
      json.set([.key("tensors"), .index(position), .key("checksum")], .string(XXH64.hex(digest)))
    }
    let path = fixture.directory.file("frame.emoe")
    try ContainerBytes.write(bytes, to: path)
    let container = try ContainerFile(path: path)
    let error = #expect(throws: ContainerError.self) { try container.storedTensor(named: name) }
    #expect(error?.kind == .decompressionFailed)
    let failed = container.verifyChecksums().filter { !$0.ok }
    #expect(failed.map(\.name) == ["tensor:" + name])
  }

  @Test("a wrong raw checksum is caught when the tensor is decompressed")
  func badRawChecksum() throws {
    let fixture = try Fixture()
    let tensors = try #require(try fixture.manifest()["tensors"]?.arrayValue)
    let position = try #require(tensors.firstIndex { $0["compression"] == .string("zstd") })
    var bytes = fixture.bytes
    try ContainerBytes.editManifest(&bytes) { json in
      json.set(
        [.key("tensors"), .index(position), .key("raw_checksum")], .string("0123456789abcdef"))
    }
    let path = fixture.directory.file("raw.emoe")
    try ContainerBytes.write(bytes, to: path)
    let container = try ContainerFile(path: path)
    let name = try #require(tensors[position]["name"]?.stringValue)
    let error = #expect(throws: ContainerError.self) { try container.storedTensor(named: name) }
    #expect(error?.kind == .checksumMismatch)
  }

  @Test("a changed data byte fails that tensor's checksum only; a padding byte fails padding")
  func dataAndPadding() throws {
    let fixture = try Fixture()
    let tensors = try #require(try fixture.manifest()["tensors"]?.arrayValue)
    let offset = try #require(tensors[0]["offset"]?.intValue)
    let length = try #require(tensors[0]["stored_length"]?.intValue)
    var bytes = fixture.bytes
    bytes[offset + 5] ^= 0x10
    let path = fixture.directory.file("data.emoe")
    try ContainerBytes.write(bytes, to: path)
    var container = try ContainerFile(path: path)
    #expect(
      container.verifyChecksums().filter { !$0.ok }.map(\.name) == [
        "tensor:" + (tensors[0]["name"]?.stringValue ?? "")
      ])
    #expect(container.verifyPadding().ok)

    bytes = fixture.bytes
    let paddingByte = offset + length + 1
    let next = try #require(tensors[1]["offset"]?.intValue)
    try #require(paddingByte < next, "the first tensor must be followed by padding")
    bytes[paddingByte] = 7
    try ContainerBytes.write(bytes, to: path)
    container = try ContainerFile(path: path)
    #expect(container.verifyChecksums().allSatisfy { $0.ok })
    #expect(container.firstNonzeroPaddingByte() == paddingByte)
  }

  @Test("manifest rules: JSON, required members, types, lengths and layer references")
  func manifestRules() throws {
    let fixture = try Fixture()
    var notJSON = fixture.bytes
    ContainerBytes.replaceManifest(&notJSON, text: Array(#"{"required_features": [}"#.utf8))
    #expect(try fixture.openError(notJSON)?.kind == .invalidManifest)
    var duplicate = fixture.bytes
    ContainerBytes.replaceManifest(&duplicate, text: Array(#"{"a": 1, "a": 2}"#.utf8))
    #expect(try fixture.openError(duplicate)?.kind == .invalidManifest)

    let edits: [(String, String, (inout JSONValue) -> Void)] = [
      ("missing tool", "tool", { $0.set([.key("tool")], nil) }),
      ("wrong type", "options", { $0.set([.key("options")], .string("x")) }),
      (
        "bad algorithm", "checksum_algorithm",
        { $0.set([.key("checksum_algorithm")], .string("crc32")) }
      ),
      (
        "bad dtype", "dtype",
        { $0.set([.key("tensors"), .index(0), .key("dtype")], .string("F12")) }
      ),
      (
        "negative dim", "shape",
        {
          $0.set(
            [.key("tensors"), .index(0), .key("shape")], .array([.integer(-8), .integer(16)]))
        }
      ),
      (
        "raw length", "raw_length",
        { $0.set([.key("tensors"), .index(0), .key("raw_length")], .integer(4)) }
      ),
      (
        "bad checksum text", "checksum",
        { $0.set([.key("tensors"), .index(0), .key("checksum")], .string("XYZ")) }
      ),
      (
        "duplicate name", "listed twice",
        { json in
          json.set(
            [.key("tensors"), .index(1), .key("name")],
            json[path: [.key("tensors"), .index(0), .key("name")]])
        }
      ),
      (
        "missing layer tensor", "not stored",
        { $0.set([.key("layers"), .index(0), .key("tensors"), .key("w1")], .string("gone")) }
      ),
      (
        "unknown role", "role",
        { $0.set([.key("layers"), .index(0), .key("tensors"), .key("w9")], .string("x")) }
      ),
      (
        "expert sizes", "expert_sizes",
        { $0.set([.key("layers"), .index(0), .key("expert_sizes")], .array([.integer(24)])) }
      ),
      (
        "family", "family", { $0.set([.key("layers"), .index(0), .key("family")], .string("moe")) }
      ),
      (
        "shared block as large as n", "shared neurons are not in 0..<n",
        { json in
          json.set(
            [.key("layers"), .index(0), .key("shared")],
            json[path: [.key("layers"), .index(0), .key("n")]])
        }
      ),
      (
        "negative shared block", "layers[0].shared",
        { $0.set([.key("layers"), .index(0), .key("shared")], .integer(-1)) }
      ),
      (
        "expert sizes summing to n, not n - S", "less 2 shared",
        { $0.set([.key("layers"), .index(0), .key("shared")], .integer(2)) }
      ),
      (
        "keys of no kind", "clustering.keys",
        { $0.set([.key("layers"), .index(0), .key("clustering"), .key("keys")], .string("acts")) }
      ),
      (
        "sse", "sse",
        { $0.set([.key("layers"), .index(0), .key("clustering"), .key("sse")], .number(-1)) }
      ),
      (
        "gguf type", "value",
        { json in
          json.set(
            [.key("source"), .key("metadata")],
            .object([
              JSONMember("kind", .string("gguf")),
              JSONMember(
                "entries",
                .array([
                  .object([
                    JSONMember("key", .string("k")), JSONMember("type", .string("uint8")),
                    JSONMember("value", .integer(300)),
                  ])
                ])),
            ]))
        }
      ),
    ]
    for (name, phrase, edit) in edits {
      let error = try fixture.manifestError(edit)
      #expect(error?.kind == .invalidManifest, "\(name): \(String(describing: error))")
      #expect(error?.description.contains(phrase) == true, "\(name): \(String(describing: error))")
    }
  }
}
