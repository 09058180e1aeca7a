import EMoECore
import EMoEFormats
import EMoETestSupport
import Foundation
import Testing

/// `convert --calibration` (issue 11): the shared neurons and the activation clusters against an
/// independent numpy LLaMA (Fixtures/scripts/calibration_oracle.py, itself checked against the
/// PyTorch golden), the bound kept on the real models as `evaluate` measures it, the record, and
/// the errors.
@Suite("convert --calibration")
struct CalibrationTests {
  static let oracle = TestPaths.fixtures + "/scripts/calibration_oracle.py"
  static let llamaTiny = TestPaths.fixtures + "/models/llama-tiny"

  /// Runs the oracle script with `arguments` and returns its stdout.
  static func oracle(_ arguments: [String]) throws -> String {
    try PythonOracle.check(
      "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')",
      arguments: [oracle] + arguments)
  }

  /// 48 seeded token ids for llama-tiny (vocabulary 96) in a safetensors file.
  static func tokens(in directory: TemporaryDirectory) throws -> String {
    let path = directory.file("calibration.safetensors")
    _ = try oracle(["tokens", path, "48", "96", "7"])
    return path
  }

  /// The stored permutation of `layer`.
  static func permutation(_ container: ContainerFile, layer: Int) throws -> [Int] {
    let record = try #require(container.layers.first { $0.layer == layer })
    let stored = try #require(try container.tensor(.permutation, of: record))
    return stored.withUnsafeBytes { raw in
      (0..<record.intermediateSize).map {
        Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)))
      }
    }
  }

  static func json(_ text: String) throws -> [String: Any] {
    try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
  }

  @Test(
    "the oracle's numpy LLaMA matches the PyTorch golden",
    .enabled(if: Oracles.python(["numpy", "safetensors"])))
  func oracleMatchesGolden() throws {
    let result = try Self.json(
      try Self.oracle(["check", Self.llamaTiny, TestPaths.fixtures + "/runner_golden"]))
    let error = try #require(result["relative_error"] as? Double)
    #expect(error < 1e-5)
  }

  @Test(
    "--shared-neurons keeps the neurons numpy finds most active on the calibration tokens",
    .enabled(if: Oracles.python(["numpy", "safetensors"])))
  func sharedNeuronsMatchNumpy() throws {
    let directory = try TemporaryDirectory()
    let tokens = try Self.tokens(in: directory)
    let output = directory.file("shared.emoe")
    let convert = try CommandRunner.run([
      "convert", Self.llamaTiny + "/model.safetensors", output, "--layers", "1,3",
      "--experts", "8", "--top-k", "2", "--calibration", tokens, "--shared-neurons", "16",
      "--calibration-tokens", "48",
    ])
    #expect(convert.status == 0, "\(convert.stderr)")
    let expected = try Self.json(
      try Self.oracle([
        "shared", Self.llamaTiny, tokens, "1,3", "16",
      ]))
    let container = try ContainerFile(path: output)
    for layer in [1, 3] {
      let record = try #require(container.layers.first { $0.layer == layer })
      #expect(record.sharedCount == 16)
      #expect(record.expertSizes == Array(repeating: 30, count: 8))
      let shared = Array(try Self.permutation(container, layer: layer)[0..<16])
      #expect(shared == (expected[String(layer)] as? [Int]), "layer \(layer)")
    }
    let calibration = try #require(container.manifest.calibration?.objectValue)
    let members = Dictionary(
      calibration.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
    #expect(members["file"]?.stringValue == tokens)
    #expect(members["tokens"]?.intValue == 48)
    #expect(members["measure"]?.stringValue == "perplexity")
    #expect(
      members["sha256"]?.stringValue == (try FileDigests.shared.sha256(ofFile: tokens)))
    let verify = try CommandRunner.run([
      "verify", output, "--source", Self.llamaTiny + "/model.safetensors",
    ])
    #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
  }

  @Test(
    "--cluster-on activations clusters the activation patterns numpy computes (same SSE)",
    .enabled(if: Oracles.python(["numpy", "safetensors"])))
  func activationClustersMatchNumpy() throws {
    let directory = try TemporaryDirectory()
    let tokens = try Self.tokens(in: directory)
    let output = directory.file("activations.emoe")
    let convert = try CommandRunner.run([
      "convert", Self.llamaTiny + "/model.safetensors", output, "--layers", "2",
      "--experts", "8", "--top-k", "4", "--calibration", tokens, "--cluster-on", "activations",
      "--shared-neurons", "8", "--calibration-tokens", "48",
    ])
    #expect(convert.status == 0, "\(convert.stderr)")
    let container = try ContainerFile(path: output)
    let record = try #require(container.layers.first)
    #expect(record.clustering.keys == .activations)
    let permutation = try Self.permutation(container, layer: 2)
    var boundaries = [record.sharedCount]
    for size in record.expertSizes { boundaries.append(boundaries.last! + size) }
    let result = try Self.json(
      try Self.oracle([
        "sse", Self.llamaTiny, tokens, "2", "\(permutation)", "\(boundaries)",
      ]))
    let sse = try #require(result["sse"] as? Double)
    #expect(abs(sse - record.clustering.sse) <= 1e-4 * max(1, sse), "numpy \(sse)")
    // A clustering of activations beats a random partition of the same neurons by far.
    #expect(record.clustering.sse < 0.9 * Double(record.intermediateSize - record.sharedCount))
  }

  @Test(
    "a calibration text that is not UTF-8 is refused with its byte offset, and nothing is written",
    .enabled(if: Oracles.smolLM2))
  func notUTF8() throws {
    let directory = try TemporaryDirectory()
    let gguf = try #require(try TestPaths.smolLM2())
    let binary = directory.file("binary.txt")
    try Data([0x41, 0x42, 0xFF, 0x43]).write(to: URL(fileURLWithPath: binary))
    let run = try CommandRunner.run([
      "convert", gguf, directory.file("c.emoe"), "--calibration", binary,
    ])
    #expect(run.status == 2, "\(run.stderr)")
    #expect(run.stderr.contains(binary) && run.stderr.contains("offset 2"), "\(run.stderr)")
    #expect(!FileManager.default.fileExists(atPath: directory.file("c.emoe")))
  }

  @Test("calibration needs --calibration, a readable text and a model with a runner")
  func errors() throws {
    let directory = try TemporaryDirectory()
    let model = Self.llamaTiny + "/model.safetensors"
    for flags in [
      ["--max-ppl-increase", "0.2"], ["--min-cosine", "0.9"], ["--cluster-on", "activations"],
      ["--calibration-tokens", "64"],
    ] {
      let run = try CommandRunner.run(["convert", model, directory.file("a.emoe")] + flags)
      #expect(run.status == 64, "\(flags): \(run.stderr)")
      #expect(run.stderr.contains("needs --calibration"), "\(flags): \(run.stderr)")
    }
    let bad = try CommandRunner.run([
      "convert", model, directory.file("b.emoe"), "--calibration", "x.txt",
      "--max-ppl-increase", "lots",
    ])
    #expect(bad.status == 64)
    #expect(bad.stderr.contains("--max-ppl-increase"))
    // llama-tiny has no tokenizer: a text cannot be read, and the message says why.
    let text = directory.file("text.txt")
    try "Some calibration text.".write(toFile: text, atomically: true, encoding: .utf8)
    let noTokenizer = try CommandRunner.run([
      "convert", model, directory.file("d.emoe"), "--calibration", text,
    ])
    #expect(noTokenizer.status == 2, "\(noTokenizer.stderr)")
    #expect(noTokenizer.stderr.contains("tokenizer"), "\(noTokenizer.stderr)")
    // GPT-2 has no whole-model runner: calibration cannot run it.
    let gpt2 = TestPaths.fixtures + "/models/gpt2-tiny/model.safetensors"
    let noRunner = try CommandRunner.run([
      "convert", gpt2, directory.file("e.emoe"), "--calibration", text,
    ])
    #expect(noRunner.status == 2, "\(noRunner.stderr)")
    #expect(noRunner.stderr.contains("whole-model"), "\(noRunner.stderr)")
    // The calibration text is an input: the output may not overwrite it.
    let tokens = try Self.tokens(in: directory)
    let overwrite = try CommandRunner.run([
      "convert", model, tokens, "--calibration", tokens,
    ])
    #expect(overwrite.status == 2, "\(overwrite.stderr)")
  }
}
