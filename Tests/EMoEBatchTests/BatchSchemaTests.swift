import EMoEBatch
import EMoEConvert
import EMoECore
import EMoETestSupport
import Foundation
import Testing

@Suite("The batch manifest schema, Formats/Batch.md and convert's option names agree")
struct BatchSchemaTests {
  static let schemaPath = TestPaths.repositoryRoot + "/Formats/emoe-batch.schema.json"

  /// The conversion option keys the schema declares.
  static func schemaOptionKeys() throws -> [String] {
    let text = try String(contentsOfFile: schemaPath, encoding: .utf8)
    let schema = try JSONValue.parse(text)
    return (schema["$defs"]?["options"]?.objectValue ?? []).map(\.key)
  }

  @Test("every option key is one of convert's long options, and every such option is a key")
  func optionNamesMatchConvert() throws {
    let help = try CommandRunner.run(["convert", "--help"])
    #expect(help.status == 0)
    var longNames: [String] = []
    for word in help.stdout.split(whereSeparator: { " ,\n[]<>=".contains($0) })
    where word.hasPrefix("--") && word.count > 2 {
      let name = String(word.dropFirst(2))
      if !longNames.contains(name) { longNames.append(name) }
    }
    let notOptions: Set = ["depfile", "json", "help", "verbose", "quiet", "version"]
    let conversionOptions = longNames.filter { !notOptions.contains($0) }
    #expect(Set(conversionOptions) == Set(ConversionOptions.longOptionNames), "\(longNames)")
    #expect(try Self.schemaOptionKeys() == ConversionOptions.longOptionNames)
  }

  @Test(
    "the schema accepts the documented manifests and rejects the malformed ones",
    .enabled(if: Oracles.python(["jsonschema"])))
  func schemaAgreesWithParser() throws {
    try PythonOracle.require(["jsonschema"])
    let batchDoc = try String(
      contentsOfFile: TestPaths.repositoryRoot + "/Formats/Batch.md", encoding: .utf8)
    let documented = try #require(
      batchDoc.components(separatedBy: "```json\n").dropFirst().first?
        .components(separatedBy: "```").first)
    let valid = [
      documented,
      #"{"jobs": []}"#,
      #"{"defaults": {"experts": null, "compress": 5, "verify": true}, "jobs": [{"input": "a", "output": "b", "export": [{"to": "gguf", "output": "c", "top-k": 2}]}]}"#,
    ]
    let invalid = [
      #"{"jobs": [{"input": "a", "output": "b", "topk": 4}]}"#,
      #"{"jobs": [{"input": "a", "output": "b", "top-k": "4"}]}"#,
      #"{"jobs": [{"input": "a"}]}"#,
      #"{"jobs": [{"input": "a", "output": "b", "quantize": "int4"}]}"#,
      #"{"jobs": [{"input": "a", "output": "b", "export": [{"to": "gguf", "output": "c", "layout": "dense"}]}]}"#,
      #"{"defaults": {"output": "x"}, "jobs": []}"#,
    ]
    let script = """
      import json, sys, jsonschema
      validator = jsonschema.Draft202012Validator(json.load(open(sys.argv[1])))
      for text in sys.argv[2:]:
          print("valid" if validator.is_valid(json.loads(text)) else "invalid")
      """
    let verdicts = try PythonOracle.check(script, arguments: [Self.schemaPath] + valid + invalid)
      .split(separator: "\n").map(String.init)
    #expect(
      verdicts == Array(repeating: "valid", count: valid.count)
        + Array(repeating: "invalid", count: invalid.count))
    // The parser agrees on the shape (inputs need not exist for these to be rejected).
    let directory = try TemporaryDirectory()
    for text in invalid {
      #expect(throws: BatchManifestError.self) {
        try BatchManifest(text: Array(text.utf8), path: directory.file("m.json"))
      }
    }
  }
}
