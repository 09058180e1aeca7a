import EMoEConvert
import EMoECore
import EMoEFormats
import EMoETestSupport
import Foundation
import Testing

/// `emoe-pack export --to hf` end to end: the folder loads in transformers offline with
/// `trust_remote_code=True` (Tests/Oracles/hf_oracle.py) and its logits (hidden states for
/// BERT) equal `emoe-pack run --model` on the container at the stored top-k, and the dense
/// model (`run --dense --model` on the source, and transformers' own classes on the exported
/// weights) at k = E.
@Suite("emoe-pack export --to hf")
struct HuggingFaceExportTests {
  static let modules = ["torch", "transformers", "safetensors", "numpy"]
  static func fixture(_ name: String) -> String {
    TestPaths.fixtures + "/models/" + name + "/model.safetensors"
  }

  /// Runs hf_oracle.py with `arguments` and returns its stdout.
  static func oracle(_ arguments: [String]) throws -> String {
    try ExportSteps.oracle("hf_oracle.py", arguments)
  }

  /// `run --model` of `model` (plus `extra`) on `ids`, into a new file.
  static func run(_ model: String, _ extra: [String], ids: String, into output: String) throws
    -> String
  {
    try ExportSteps.pack(
      ["run", model, "--model", "--inputs", ids, "--out", output, "--quiet"] + extra)
    return output
  }

  /// A real model's conversion, made once and kept in `.cache/derived/NAME.emoe`.
  ///
  /// Clustering SmolLM2's and MiniLM's layers takes minutes of CPU on a shared 2-core machine;
  /// what these tests check (the export equals `run --model` on the same container) holds for
  /// any valid container, so a kept one serves. Delete the file to make it again.
  static func cachedConversion(_ name: String, _ model: String, _ options: [String]) throws
    -> String
  {
    let folder = TestPaths.repositoryRoot + "/.cache/derived"
    let path = folder + "/" + name + ".emoe"
    if FileSystem.exists(path) { return path }
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    // convert writes a temporary file and renames it into place, so no half file is kept.
    try ExportSteps.convert(model, to: path, ["--restarts", "1"] + options)
    return path
  }

  /// Exports `container` to `folder` with `--json` and returns the summary.
  static func export(_ container: String, to folder: String, _ extra: [String] = []) throws
    -> JSONValue
  {
    let result = try ExportSteps.export(container, to: folder, as: "hf", ["--json"] + extra)
    return try JSONValue.parse(result.stdout)
  }

  /// The oracle's report per mode.
  static func compare(_ folder: String, ids: String, _ cases: [String]) throws -> JSONValue {
    try JSONValue.parse(try oracle(["compare", folder, ids] + cases))
  }

  /// Checks that the `mode` report loaded `expectedClass` cleanly with `layers` EMoE modules.
  static func expectClean(
    _ report: JSONValue, _ mode: String, expectedClass: String, emoeModules: Int
  ) {
    let entry = report[mode]
    #expect(entry?["class"]?.stringValue == expectedClass, "\(mode): \(report.prettySerialized())")
    #expect(entry?["emoe_modules"]?.arrayValue?.count == emoeModules, "\(mode)")
    #expect(entry?["missing_keys"]?.arrayValue?.isEmpty == true, "\(mode): missing keys")
    #expect(entry?["mismatched_keys"]?.arrayValue?.isEmpty == true, "\(mode): mismatched keys")
  }

  static func error(_ report: JSONValue, _ mode: String, _ label: String) -> Double {
    report[mode]?["relative_error"]?[label]?.doubleValue ?? .infinity
  }

  @Test(
    "SmolLM2 Q4_1, layers 25, 27, 29: transformers equals run --model at k = 4, dense at k = E",
    .enabled(if: Oracles.smolLM2 && Oracles.python(modules)))
  func smolLM2() throws {
    try PythonOracle.require(Self.modules)
    let model = try #require(try TestPaths.smolLM2())
    let directory = try TemporaryDirectory()
    let container = try Self.cachedConversion(
      "hf-smollm2-l25-27-29-e16-k4", model,
      ["--layers", "25,27,29", "--experts", "16", "--top-k", "4"])
    let folder = directory.file("hf")
    let summary = try Self.export(container, to: folder)
    #expect(summary["model_type"]?.stringValue == "emoe_llama")
    #expect(summary["converted_layers"] == .array([.integer(25), .integer(27), .integer(29)]))
    let config = try JSONValue.parse(
      try String(contentsOfFile: folder + "/config.json", encoding: .utf8))
    #expect(config["tie_word_embeddings"] == .bool(true))
    #expect(config["num_key_value_heads"]?.intValue == 3)
    #expect(config["emoe_layers"]?["27"]?["top_k"]?.intValue == 4)

    let ids = directory.file("ids.safetensors")
    _ = try Self.oracle(["ids", ids, "49152", "12"])
    let sparse = try Self.run(container, [], ids: ids, into: directory.file("k4.safetensors"))
    let dense = try Self.run(
      model, ["--dense"], ids: ids, into: directory.file("dense.safetensors"))
    let report = try Self.compare(
      folder, ids: ids,
      [
        "run_k4:stored:" + sparse, "dense:stored:" + dense, "dense:k16:" + dense,
        "dense:dense:" + dense,
      ])
    Self.expectClean(report, "stored", expectedClass: "EMoELlamaForCausalLM", emoeModules: 3)
    Self.expectClean(report, "k16", expectedClass: "EMoELlamaForCausalLM", emoeModules: 3)
    Self.expectClean(report, "dense", expectedClass: "LlamaForCausalLM", emoeModules: 0)
    #expect(report["stored"]?["top_k"] == .array([.integer(4)]))
    #expect(report["stored"]?["unexpected_keys"]?.arrayValue?.isEmpty == true)
    let atK = Self.error(report, "stored", "run_k4")
    #expect(atK <= 1e-4, "k = 4: transformers vs run --model \(atK)")
    // The sparse model really is sparse: it differs from the dense one.
    let sparseVsDense = Self.error(report, "stored", "dense")
    #expect(sparseVsDense > 1e-3, "k = 4 vs dense: \(sparseVsDense)")
    let atE = Self.error(report, "k16", "dense")
    #expect(atE <= 1e-4, "k = E: transformers vs run --dense --model \(atE)")
    let stock = Self.error(report, "dense", "dense")
    #expect(stock <= 1e-4, "transformers' LlamaForCausalLM vs run --dense --model \(stock)")
    print(
      "smolLM2 relative errors: k=4 \(atK), k=E \(atE), stock \(stock), k=4 vs dense \(sparseVsDense)"
    )
  }

  @Test(
    "MiniLM: AutoModel equals run --model, and the dense model at k = E; tokenizer copied",
    .enabled(if: Oracles.miniLM && Oracles.python(modules))
  )
  func miniLM() throws {
    try PythonOracle.require(Self.modules)
    let model = try #require(try TestPaths.miniLM())
    let directory = try TemporaryDirectory()
    let container = try Self.cachedConversion("hf-minilm-default", model, [])
    let folder = directory.file("hf")
    let source = FileSystem.directory(of: model)
    let summary = try Self.export(container, to: folder, ["--source", source])
    #expect(summary["model_type"]?.stringValue == "emoe_bert")
    #expect(summary["tokenizer_files"]?.arrayValue?.contains(.string("tokenizer.json")) == true)
    let copied = try Data(contentsOf: URL(fileURLWithPath: folder + "/tokenizer.json"))
    #expect(copied == (try Data(contentsOf: URL(fileURLWithPath: source + "/tokenizer.json"))))
    let records = try ContainerFile(path: container).layers
    let experts = try #require(records.first?.expertCount)

    let ids = directory.file("ids.safetensors")
    _ = try Self.oracle(["ids", ids, "30522", "12"])
    let sparse = try Self.run(container, [], ids: ids, into: directory.file("k.safetensors"))
    let dense = try Self.run(
      model, ["--dense"], ids: ids, into: directory.file("dense.safetensors"))
    let report = try Self.compare(
      folder, ids: ids,
      ["run_k:stored:" + sparse, "dense:stored:" + dense, "dense:k\(experts):" + dense])
    Self.expectClean(
      report, "stored", expectedClass: "EMoEBertModel", emoeModules: records.count)
    let atK = Self.error(report, "stored", "run_k")
    #expect(atK <= 1e-4, "stored k: AutoModel vs run --model \(atK)")
    #expect(Self.error(report, "stored", "dense") > 1e-4, "the sparse model equals the dense one")
    let atE = Self.error(report, "k\(experts)", "dense")
    #expect(atE <= 1e-4, "k = E: AutoModel vs run --dense --model \(atE)")
    print("miniLM relative errors: stored k \(atK), k=E \(atE)")
  }

  @Test(
    "fixtures: shared block, unequal experts, up and up-abs routers, router bias, per-layer k",
    .enabled(if: Oracles.python(modules)))
  func fixtures() throws {
    try PythonOracle.require(Self.modules)
    let directory = try TemporaryDirectory()
    let tokens = try CalibrationTests.tokens(in: directory)
    let llama = Self.fixture("llama-tiny")
    var cases: [(name: String, container: String, vocabulary: Int)] = []
    let shared = directory.file("shared.emoe")
    try ExportSteps.pack([
      "convert", llama, shared, "--layers", "1,3", "--experts", "8", "--top-k", "2",
      "--calibration", tokens, "--calibration-tokens", "48", "--shared-neurons", "20",
      "--allow-uneven", "--router", "up-abs", "--restarts", "1", "--quiet",
    ])
    let sharedRecord = try #require(try ContainerFile(path: shared).layers.first)
    #expect(sharedRecord.sharedCount == 20)
    #expect(Set(sharedRecord.expertSizes).count > 1, "\(sharedRecord.expertSizes)")
    cases.append(("shared", shared, 96))
    let up = directory.file("up.emoe")
    try ExportSteps.pack([
      "convert", llama, up, "--layers", "0,2", "--experts", "8", "--top-k", "3", "--router",
      "up", "--restarts", "1", "--quiet",
    ])
    cases.append(("up", up, 96))
    let bert = directory.file("bert.emoe")
    let plan = try ConversionPlan(
      input: TestPaths.fixtures + "/models/bert-tiny",
      options: ConversionOptions(
        experts: 4, topK: 2, layers: "all", restarts: 1, routerBias: true),
      topKByLayer: [0: 1])
    _ = try Converter(plan: plan, tool: ContainerTool(name: "emoe-pack", version: "0.1.0")).run(
      output: bert)
    cases.append(("bert", bert, 64))

    for (name, container, vocabulary) in cases {
      let folder = directory.file(name + "-hf")
      _ = try Self.export(container, to: folder)
      let ids = directory.file(name + "-ids.safetensors")
      _ = try Self.oracle(["ids", ids, String(vocabulary), "10"])
      let sparse = try Self.run(
        container, [], ids: ids, into: directory.file(name + "-k.safetensors"))
      let report = try Self.compare(folder, ids: ids, ["run:stored:" + sparse])
      let layers = try ContainerFile(path: container).layers.count
      Self.expectClean(
        report, "stored", expectedClass: name == "bert" ? "EMoEBertModel" : "EMoELlamaForCausalLM",
        emoeModules: layers)
      let error = Self.error(report, "stored", "run")
      #expect(error <= 1e-4, "\(name): transformers vs run --model \(error)")
      if name == "bert" {
        #expect(report["stored"]?["top_k"] == .array([.integer(1), .integer(2)]))
        let config = try String(contentsOfFile: folder + "/config.json", encoding: .utf8)
        #expect(config.contains(#""router_bias": true"#), "\(config)")
      }
      print("fixture \(name) relative error \(error)")
    }
  }

  @Test("refusals: other families (exit 2, naming the supported ones), options, output safety")
  func refusals() throws {
    let directory = try TemporaryDirectory()
    let gpt2 = directory.file("gpt2.emoe")
    try ExportSteps.pack([
      "convert", Self.fixture("gpt2-tiny"), gpt2, "--experts", "4", "--restarts", "1", "--quiet",
    ])
    let refused = try CommandRunner.run(["export", gpt2, directory.file("g"), "--to", "hf"])
    #expect(refused.status == 2)
    #expect(refused.stderr.contains("model_type 'gpt2'"), "\(refused.stderr)")
    #expect(refused.stderr.contains("supported: LLaMA decoders"), "\(refused.stderr)")
    #expect(!FileSystem.exists(directory.file("g")), "a refused export left output")

    let llama = directory.file("llama.emoe")
    try ExportSteps.pack([
      "convert", Self.fixture("llama-tiny"), llama, "--experts", "8", "--restarts", "1",
      "--quiet",
    ])
    // Options of other formats are usage errors.
    let topK = try CommandRunner.run([
      "export", llama, directory.file("a"), "--to", "hf", "--top-k", "2",
    ])
    #expect(topK.status == 64)
    let layout = try CommandRunner.run([
      "export", llama, directory.file("a"), "--to", "hf", "--layout", "experts",
    ])
    #expect(layout.status == 64)
    let sourceElsewhere = try CommandRunner.run([
      "export", llama, directory.file("a.safetensors"), "--to", "safetensors", "--source", ".",
    ])
    #expect(sourceElsewhere.status == 64)
    // --source must be a folder holding a tokenizer file.
    let noTokenizer = try CommandRunner.run([
      "export", llama, directory.file("b"), "--to", "hf", "--source", directory.path,
    ])
    #expect(noTokenizer.status == 2)
    #expect(noTokenizer.stderr.contains("holds none of tokenizer.json"), "\(noTokenizer.stderr)")

    // Never into the source checkpoint's folder, never over the container.
    let sourceFolder = directory.file("source")
    try FileManager.default.createDirectory(atPath: sourceFolder, withIntermediateDirectories: true)
    for file in ["config.json", "model.safetensors"] {
      try FileManager.default.copyItem(
        atPath: TestPaths.fixtures + "/models/llama-tiny/" + file, toPath: sourceFolder + "/" + file
      )
    }
    let before = try Data(contentsOf: URL(fileURLWithPath: sourceFolder + "/model.safetensors"))
    let intoSource = try CommandRunner.run(["export", llama, sourceFolder, "--to", "hf"])
    #expect(intoSource.status == 2)
    #expect(intoSource.stderr.contains("emoe-pack export did not write"), "\(intoSource.stderr)")
    let after = try Data(contentsOf: URL(fileURLWithPath: sourceFolder + "/model.safetensors"))
    #expect(before == after)
    #expect(!FileSystem.exists(sourceFolder + "/modeling_emoe.py"))
    let overContainer = try CommandRunner.run(["export", llama, llama, "--to", "hf"])
    #expect(overContainer.status == 2, "\(overContainer.stderr)")

    // An earlier hf export's folder is rewritten with the same bytes (deterministic).
    let folder = directory.file("again")
    try ExportSteps.pack(["export", llama, folder, "--to", "hf", "--quiet"])
    let first = try Data(contentsOf: URL(fileURLWithPath: folder + "/model.safetensors"))
    let firstConfig = try Data(contentsOf: URL(fileURLWithPath: folder + "/config.json"))
    try ExportSteps.pack(["export", llama, folder, "--to", "hf", "--quiet"])
    #expect(first == (try Data(contentsOf: URL(fileURLWithPath: folder + "/model.safetensors"))))
    #expect(firstConfig == (try Data(contentsOf: URL(fileURLWithPath: folder + "/config.json"))))
    let modeling = try String(contentsOfFile: folder + "/modeling_emoe.py", encoding: .utf8)
    #expect(modeling == HuggingFaceModelingPython.modeling)
  }
}
