import EMoECore
import EMoEFormats
import EMoETestSupport
import Testing

/// Every manifest the writer produces validates against Formats/emoe-manifest.schema.json with
/// Python's `jsonschema`, and an independent Python reader of the byte layout (written from
/// Formats/EMoE.md) finds every uncompressed tensor's bytes where the writer put them.
@Suite("The .emoe manifest schema and byte layout, checked by Python")
struct ContainerSchemaTests {
  static let schemaPath = TestPaths.repositoryRoot + "/Formats/emoe-manifest.schema.json"

  /// Reads each container given on the command line as the spec describes, validates its
  /// manifest, and prints one line per uncompressed tensor: `file name sha256`.
  static let reader = #"""
    import hashlib, json, struct, sys
    import jsonschema
    schema = json.load(open(sys.argv[1]))
    validator = jsonschema.Draft202012Validator(schema)
    for path in sys.argv[2:]:
        data = open(path, "rb").read()
        magic, version, header_size, m_off, m_len, d_off, size, _, reserved = struct.unpack_from("<8sIIQQQQQQ", data, 0)
        assert magic == b"EMOEPACK" and version == 1 and header_size == 64 and reserved == 0, path
        assert m_off == 64 and d_off == m_off + m_len and d_off % 64 == 0 and size == len(data), path
        region = data[m_off:d_off]
        text = region.rstrip(b" ")
        manifest = json.loads(text.decode("utf-8"))
        errors = sorted(validator.iter_errors(manifest), key=lambda e: list(e.path))
        if errors:
            raise SystemExit(f"{path}: {errors[0].json_path}: {errors[0].message}")
        end = d_off
        for t in manifest["tensors"]:
            assert t["offset"] == (end + 63) // 64 * 64, (path, t["name"])
            assert all(b == 0 for b in data[end:t["offset"]]), (path, "padding")
            end = t["offset"] + t["stored_length"]
            if t["compression"] == "none":
                blob = data[t["offset"]:end]
                print(path, t["name"], hashlib.sha256(blob).hexdigest())
        assert size == (end + 63) // 64 * 64, path
    """#

  /// Validates each manifest given as a JSON argument and prints `valid` or `invalid`.
  static let validator = #"""
    import json, sys, jsonschema
    validator = jsonschema.Draft202012Validator(json.load(open(sys.argv[1])))
    for text in sys.argv[2:]:
        print("valid" if validator.is_valid(json.loads(text)) else "invalid")
    """#

  @Test(
    "every manifest the writer makes validates, and tensors lie where the spec says",
    .enabled(if: Oracles.python(["jsonschema"])))
  func writtenManifestsValidate() throws {
    try PythonOracle.require(["jsonschema"])
    let directory = try TemporaryDirectory()
    var expected: [String: [UInt8]] = [:]
    var paths: [String] = []
    let variants: [(String, SampleContainer)] = [
      ("plain", SampleContainer.make()),
      ("zstd", SampleContainer.make(compression: .zstd(level: 3))),
      ("mixed", SampleContainer.make(compression: .zstd(level: 9), alternate: true)),
      (
        "gguf",
        {
          var sample = SampleContainer.make(compression: .zstd(level: 1), alternate: true)
          sample.plan.source.format = "gguf"
          sample.plan.source.config = nil
          sample.plan.source.metadata = .gguf([
            ("general.architecture", .string("llama")), ("llama.block_count", .uint32(30)),
            ("u64", .uint64(UInt64.max)), ("i64", .int64(Int64.min)), ("eps", .float32(1e-5)),
            ("nan", .float32(.nan)), ("f64", .float64(-.infinity)), ("flag", .bool(false)),
            ("tokens", .array(elementType: .string, elements: [.string("a"), .string("b")])),
            (
              "scores",
              .array(elementType: .float32, elements: [.float32(0.5), .float32(.infinity)])
            ),
            (
              "nested",
              .array(
                elementType: .array, elements: [.array(elementType: .int8, elements: [.int8(-1)])])
            ),
          ])
          return sample
        }()
      ),
    ]
    for (name, sample) in variants {
      let path = directory.file(name + ".emoe")
      try sample.write(to: path)
      paths.append(path)
      for declaration in sample.plan.tensors where declaration.compression == .none {
        expected[path + " " + declaration.name] = sample.payloads[declaration.name]
      }
    }
    let output = try PythonOracle.check(Self.reader, arguments: [Self.schemaPath] + paths)
    var seen = 0
    for line in output.split(separator: "\n") {
      let parts = line.split(separator: " ")
      try #require(parts.count == 3)
      let key = parts[0] + " " + parts[1]
      let payload = try #require(expected[String(key)], "unexpected tensor \(key)")
      #expect(payload.withUnsafeBytes { SHA256.hex(of: $0) } == String(parts[2]), "\(key)")
      seen += 1
    }
    #expect(seen == expected.count)
  }

  @Test(
    "the schema rejects manifests that break its rules",
    .enabled(if: Oracles.python(["jsonschema"])))
  func schemaRejects() throws {
    try PythonOracle.require(["jsonschema"])
    let directory = try TemporaryDirectory()
    let path = directory.file("sample.emoe")
    try SampleContainer.make(compression: .zstd(level: 3)).write(to: path)
    let valid = try ContainerBytes.manifest(try ContainerBytes.read(path))
    let edits: [(inout JSONValue) -> Void] = [
      { $0.set([.key("tool")], nil) },
      { $0.set([.key("required_features")], .array([.string("teleport")])) },
      { $0.set([.key("checksum_algorithm")], .string("md5")) },
      { $0.set([.key("tensors"), .index(0), .key("dtype")], .string("F12")) },
      { $0.set([.key("tensors"), .index(0), .key("checksum")], .string("ABC")) },
      { $0.set([.key("tensors"), .index(0), .key("raw_checksum")], nil) },
      { $0.set([.key("tensors"), .index(0), .key("offset")], .integer(-64)) },
      { $0.set([.key("layers"), .index(0), .key("family")], .string("moe")) },
      { $0.set([.key("layers"), .index(0), .key("tensors"), .key("w1")], nil) },
      { $0.set([.key("layers"), .index(1), .key("clustering"), .key("keys")], .string("w1")) },
      { $0.set([.key("layers"), .index(0), .key("activation")], .string("GELU")) },
      { $0.set([.key("source"), .key("files"), .index(0), .key("sha256")], .string("00")) },
      { $0.set([.key("source"), .key("metadata"), .key("kind")], .string("onnx")) },
      {
        $0.set(
          [.key("source"), .key("metadata")],
          .object([
            JSONMember("kind", .string("gguf")),
            JSONMember(
              "entries",
              .array([
                .object([
                  JSONMember("key", .string("k")), JSONMember("type", .string("uint8")),
                  JSONMember("value", .integer(256)),
                ])
              ])),
          ]))
      },
    ]
    var documents = [valid.serialized()]
    for edit in edits {
      var copy = valid
      edit(&copy)
      documents.append(copy.serialized())
    }
    let verdicts = try PythonOracle.check(Self.validator, arguments: [Self.schemaPath] + documents)
      .split(separator: "\n").map(String.init)
    #expect(verdicts == ["valid"] + Array(repeating: "invalid", count: edits.count))
  }
}
