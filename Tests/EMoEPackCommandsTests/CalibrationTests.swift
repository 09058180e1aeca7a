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
    #expect(run.stderr.contains(binary) && run.stderr.contains("byte 2"), "\(run.stderr)")
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

  /// The `calibration` member of a container, as a dictionary.
  static func calibration(_ container: ContainerFile) throws -> [String: JSONValue] {
    let members = try #require(container.manifest.calibration?.objectValue)
    return Dictionary(members.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
  }

  /// The `evaluate --json` result measured at the container's recorded top-k.
  static func recordedResult(_ report: [String: Any], _ container: ContainerFile) throws
    -> [String: Any]
  {
    let results = try #require(report["results"] as? [[String: Any]])
    let recorded = Dictionary(
      uniqueKeysWithValues: container.layers.map { (String($0.layer), $0.topK) })
    return try #require(
      results.first { result in
        (result["top_k_per_layer"] as? [String: Int]) == recorded
      }, "no result at the recorded top-k \(recorded)")
  }

  @Test(
    "--max-ppl-increase on SmolLM2: the recorded choice keeps the bound as evaluate measures it",
    .enabled(if: Oracles.smolLM2))
  func smolLM2KeepsBound() throws {
    let gguf = try #require(try TestPaths.smolLM2())
    let directory = try TemporaryDirectory()
    let text = "/usr/share/common-licenses/Apache-2.0"
    let output = directory.file("calibrated.emoe")
    let convert = try CommandRunner.run([
      "convert", gguf, output, "--layers", "25,27,29", "--calibration", text,
      "--calibration-tokens", "128", "--max-ppl-increase", "25%", "--shared-neurons", "25%",
      "--experts", "48", "--restarts", "2",
    ])
    #expect(convert.status == 0, "\(convert.stderr)")
    let container = try ContainerFile(path: output)
    let record = try Self.calibration(container)
    let dense = try #require(record["dense"]?.doubleValue)
    let value = try #require(record["value"]?.doubleValue)
    #expect(record["measure"]?.stringValue == "perplexity")
    #expect(value <= dense * 1.25)
    #expect(!container.layers.isEmpty)
    let paperLayers: Set = [25, 27, 29]
    for layer in container.layers {
      #expect(paperLayers.contains(layer.layer))
      #expect(layer.sharedCount == 384 && layer.expertCount == 48)
      #expect(layer.topK < layer.expertCount, "layer \(layer.layer) top-k \(layer.topK)")
    }
    let evaluate = try CommandRunner.run([
      "evaluate", output, "--text", text, "--max-tokens", "128", "--json",
    ])
    #expect(evaluate.status == 0, "\(evaluate.stderr)")
    let report = try Self.json(evaluate.stdout)
    let measuredDense = try #require((report["dense"] as? [String: Any])?["perplexity"] as? Double)
    #expect(abs(measuredDense - dense) <= 1e-9 * dense, "evaluate's dense \(measuredDense)")
    let result = try Self.recordedResult(report, container)
    let measured = try #require(result["perplexity"] as? Double)
    #expect(abs(measured - value) <= 1e-4 * value, "evaluate \(measured), calibration \(value)")
    #expect(measured <= dense * 1.25 * (1 + 1e-4))
    let verify = try CommandRunner.run(["verify", output])
    #expect(verify.status == 0, "\(verify.stdout)")
  }

  @Test(
    "--min-cosine on MiniLM: the recorded choice keeps the bound as evaluate measures it",
    .enabled(if: Oracles.miniLM))
  func miniLMKeepsBound() throws {
    let model = try #require(try TestPaths.miniLM())
    let directory = try TemporaryDirectory()
    let text = "/usr/share/common-licenses/Apache-2.0"
    let output = directory.file("calibrated.emoe")
    let convert = try CommandRunner.run([
      "convert", model, output, "--calibration", text, "--calibration-tokens", "1024",
      "--min-cosine", "0.95",
    ])
    #expect(convert.status == 0, "\(convert.stderr)")
    let container = try ContainerFile(path: output)
    let record = try Self.calibration(container)
    let value = try #require(record["value"]?.doubleValue)
    #expect(record["measure"]?.stringValue == "cosine")
    #expect(value >= 0.95)
    #expect(container.layers.allSatisfy { $0.topK < $0.expertCount })
    let evaluate = try CommandRunner.run([
      "evaluate", output, "--text", text, "--max-tokens", "1024", "--source", model, "--json",
    ])
    #expect(evaluate.status == 0, "\(evaluate.stderr)")
    let result = try Self.recordedResult(try Self.json(evaluate.stdout), container)
    let measured = try #require(result["cosine"] as? Double)
    #expect(abs(measured - value) <= 1e-4, "evaluate \(measured), calibration \(value)")
  }

  @Test(
    "a bound no layer keeps is refused with exit 2 and the least loss found",
    .enabled(if: Oracles.miniLM))
  func unreachableBound() throws {
    let model = try #require(try TestPaths.miniLM())
    let directory = try TemporaryDirectory()
    let output = directory.file("never.emoe")
    let run = try CommandRunner.run([
      "convert", model, output, "--calibration", "/usr/share/common-licenses/Apache-2.0",
      "--calibration-tokens", "256", "--min-cosine", "1",
    ])
    #expect(run.status == 2, "\(run.stderr)")
    #expect(run.stderr.contains("no layer keeps the bound"), "\(run.stderr)")
    #expect(!FileManager.default.fileExists(atPath: output))
  }

  @Test(
    "calibrated conversions are byte-identical whatever the thread count",
    .enabled(if: Oracles.python(["numpy", "safetensors"])))
  func deterministic() throws {
    let directory = try TemporaryDirectory()
    let tokens = try Self.tokens(in: directory)
    var outputs: [[UInt8]] = []
    for threads in ["1", "2"] {
      let output = directory.file("t\(threads).emoe")
      let run = try CommandRunner.run([
        "convert", Self.llamaTiny + "/model.safetensors", output, "--layers", "all",
        "--experts", "8", "--calibration", tokens, "--shared-neurons", "12.5%",
        "--cluster-on", "activations", "--max-ppl-increase", "0.5", "--threads", threads,
      ])
      #expect(run.status == 0, "\(run.stderr)")
      outputs.append(Array(try Data(contentsOf: URL(fileURLWithPath: output))))
    }
    #expect(outputs[0] == outputs[1])
  }
}
