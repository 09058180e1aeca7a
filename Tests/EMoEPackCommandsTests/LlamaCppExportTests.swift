import EMoECore
import EMoEFormats
import EMoETestSupport
import Foundation
import Testing

/// `export --to gguf` checked by llama.cpp itself (llama-cpp-python, `llama_cpp_oracle.py`):
/// the file loads and llama.cpp's per-token logits on 128 tokens of the GPL-3 text agree with
/// `emoe-pack run --model` at the same top-k, and with the dense GGUF at k = E.
///
/// The model is an all-F32 copy of SmolLM2 (`gguf_to_f32.py`, cached in `.cache/fixtures`): with
/// F32 weights llama.cpp keeps activations in F32, so the comparison measures the weighting and
/// the layer structure, not its Q8 activation rounding (docs/export.md gives the Q4_1 figures).
@Suite("export --to gguf computed by llama.cpp", .serialized)
struct LlamaCppExportTests {
  static let modules = ["numpy", "safetensors", "gguf", "llama_cpp"]
  static let tokens = 128

  /// The cached all-F32 copy of the SmolLM2 GGUF, made once.
  static func f32Model() throws -> String {
    let source = try #require(try TestPaths.smolLM2())
    let folder = TestPaths.repositoryRoot + "/.cache/fixtures"
    let path = folder + "/SmolLM2-135M-Instruct.F32.gguf"
    if !FileSystem.exists(path) {
      try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
      _ = try oracle("gguf_to_f32.py", [source, path])
    }
    return path
  }

  /// Runs `Tests/Oracles/<script>` and returns its last line as JSON, failing unless `ok`.
  static func oracle(_ script: String, _ arguments: [String]) throws -> JSONValue {
    let output = try ExportSteps.runOracle(script, arguments)
    guard output.status == 0, let last = output.stdout.split(separator: "\n").last,
      let report = try? JSONValue.parse(String(last)), report["ok"]?.boolValue == true
    else {
      throw ExportSteps.StepFailed(
        description: "\(script) exited \(output.status): \(output.stderr)")
    }
    return report
  }

  /// Token ids of the GPL-3 text, tokenised by llama.cpp with the model's tokenizer.
  static func ids(_ model: String, in directory: TemporaryDirectory) throws -> String {
    let path = directory.file("ids.safetensors")
    _ = try oracle(
      "llama_cpp_oracle.py",
      ["tokens", model, "/usr/share/common-licenses/GPL-3", String(tokens), path])
    return path
  }

  /// llama.cpp's report on `gguf`, against `run --model --top-k k` of `container` when given.
  static func evaluate(
    _ gguf: String, ids: String, container: String? = nil, topK: Int? = nil,
    in directory: TemporaryDirectory
  ) throws -> JSONValue {
    var arguments = ["eval", gguf, ids]
    if let container {
      let reference = directory.file("reference-\(topK ?? 0).safetensors")
      try ExportSteps.pack(
        ["run", container, "--model", "--inputs", ids, "--out", reference, "--quiet"]
          + (topK.map { ["--top-k", String($0)] } ?? []))
      arguments.append(reference)
    }
    return try oracle("llama_cpp_oracle.py", arguments)
  }

  static func number(_ report: JSONValue, _ key: String) throws -> Double {
    try #require(report[key]?.doubleValue, "\(key) missing in \(report)")
  }

  @Test(
    "every layer, E = 16: k = E within 0.5 % of the dense GGUF; k = 15 meets the bar against run --model",
    .enabled(if: Oracles.python(modules)), .enabled(if: Oracles.smolLM2))
  func allLayers() throws {
    try PythonOracle.require(Self.modules)
    let model = try Self.f32Model()
    let directory = try TemporaryDirectory()
    let ids = try Self.ids(model, in: directory)
    let container = directory.file("all.emoe")
    try ExportSteps.convert(
      model, to: container, ["--experts", "16", "--layers", "all", "--restarts", "1"])
    let dense = try Self.evaluate(model, ids: ids, in: directory)
    let denseppl = try Self.number(dense, "perplexity")

    let full = directory.file("k16.gguf")
    try ExportSteps.export(container, to: full, as: "gguf")
    #expect(try GGUFFile(path: full).value(forKey: "general.architecture") == .string("llama"))
    let exact = try Self.evaluate(full, ids: ids, in: directory)
    let fullppl = try Self.number(exact, "perplexity")
    #expect(abs(fullppl / denseppl - 1) <= 0.005, "k = E \(fullppl) against dense \(denseppl)")

    let k15 = directory.file("k15.gguf")
    try ExportSteps.export(container, to: k15, as: "gguf", ["--top-k", "15"])
    let file = try GGUFFile(path: k15)
    #expect(file.value(forKey: "llama.expert_used_count") == .uint32(15))
    guard case .array(_, let scales) = file.value(forKey: "emoe.router_scale") else {
      Issue.record("emoe.router_scale is missing")
      return
    }
    #expect(scales.count == 30)
    let report = try Self.evaluate(
      k15, ids: ids, container: container, topK: 15, in: directory)
    let cosine = try Self.number(report, "cosine_mean")
    let ppl = try Self.number(report, "perplexity")
    let ours = try Self.number(report, "reference_perplexity")
    #expect(cosine >= 0.998, "\(report)")
    #expect(abs(ppl / ours - 1) <= 0.02, "\(report)")
    print("llama.cpp all layers: dense ppl \(denseppl), k=16 \(fullppl); k=15 \(report)")
  }

  @Test(
    "layers 25, 27, 29 as ernie4_5-moe: exact at k = E, close to run --model at k = 4",
    .enabled(if: Oracles.python(modules)), .enabled(if: Oracles.smolLM2))
  func layerSubset() throws {
    try PythonOracle.require(Self.modules)
    let model = try Self.f32Model()
    let directory = try TemporaryDirectory()
    let ids = try Self.ids(model, in: directory)
    let container = directory.file("subset.emoe")
    try ExportSteps.convert(
      model, to: container, ["--experts", "16", "--layers", "25,27,29", "--restarts", "1"])
    let full = directory.file("k16.gguf")
    try ExportSteps.export(container, to: full, as: "gguf")
    let file = try GGUFFile(path: full)
    #expect(file.value(forKey: "general.architecture") == .string("ernie4_5-moe"))
    #expect(file.value(forKey: "ernie4_5-moe.leading_dense_block_count") == .uint32(25))
    #expect(file.value(forKey: "ernie4_5-moe.expert_shared_feed_forward_length") == .uint32(1536))
    // The zero experts of layers 26 and 28 and the zero shared experts of the converted layers
    // are all-zero Q4_0 blocks (llama.cpp computes them below: they must add exactly 0).
    for name in [
      "blk.26.ffn_gate_exps.weight", "blk.28.ffn_down_exps.weight", "blk.25.ffn_up_shexp.weight",
      "blk.29.ffn_down_shexp.weight",
    ] {
      #expect(file.tensorDescription(named: name)?.dtype == .q4_0, "\(name)")
    }
    let dense = try Self.evaluate(model, ids: ids, in: directory)
    let exact = try Self.evaluate(full, ids: ids, container: container, topK: 16, in: directory)
    #expect(
      abs(try Self.number(exact, "perplexity") / Self.number(dense, "perplexity") - 1) <= 0.005,
      "\(exact) against \(dense)")
    #expect(try Self.number(exact, "cosine_mean") >= 0.99999, "\(exact)")

    let k4 = directory.file("k4.gguf")
    try ExportSteps.export(container, to: k4, as: "gguf", ["--top-k", "4"])
    let report = try Self.evaluate(k4, ids: ids, container: container, topK: 4, in: directory)
    #expect(try Self.number(report, "cosine_mean") >= 0.999, "\(report)")
    #expect(
      abs(try Self.number(report, "perplexity") / Self.number(report, "reference_perplexity") - 1)
        <= 0.02, "\(report)")
    print("llama.cpp ernie4_5-moe layers 25,27,29: k=16 \(exact); k=4 \(report)")
  }

  @Test(
    "a shared block becomes ernie4_5-moe's shared expert: close to run --model at k = 4",
    .enabled(if: Oracles.python(modules)), .enabled(if: Oracles.smolLM2))
  func sharedBlock() throws {
    try PythonOracle.require(Self.modules)
    let model = try Self.f32Model()
    let directory = try TemporaryDirectory()
    let ids = try Self.ids(model, in: directory)
    let container = directory.file("shared.emoe")
    try ExportSteps.convert(
      model, to: container,
      [
        "--experts", "16", "--layers", "28,29", "--restarts", "1",
        "--shared-neurons", "256", "--calibration", "/usr/share/common-licenses/GPL-2",
        "--calibration-tokens", "64",
      ])
    let k4 = directory.file("k4.gguf")
    try ExportSteps.export(container, to: k4, as: "gguf", ["--top-k", "4"])
    let file = try GGUFFile(path: k4)
    #expect(file.value(forKey: "general.architecture") == .string("ernie4_5-moe"))
    #expect(file.value(forKey: "ernie4_5-moe.expert_feed_forward_length") == .uint32(80))
    #expect(file.value(forKey: "ernie4_5-moe.expert_shared_feed_forward_length") == .uint32(256))
    let report = try Self.evaluate(k4, ids: ids, container: container, topK: 4, in: directory)
    #expect(try Self.number(report, "cosine_mean") >= 0.999, "\(report)")
    print("llama.cpp ernie4_5-moe shared block 256, layers 28,29: k=4 \(report)")
  }

  @Test(
    "FFN and router biases are refused (exit 2): llama.cpp's MoE has no bias tensors",
    .enabled(if: Oracles.python(["numpy", "gguf"])), .enabled(if: Oracles.smolLM2))
  func biases() throws {
    let model = try #require(try TestPaths.smolLM2())
    let directory = try TemporaryDirectory()
    // SmolLM2 with a gate bias in layer 29 (a llama GGUF has none of its own).
    let source = directory.file("bias.gguf")
    _ = try Self.oracle("gguf_to_f32.py", [model, source, "--keep-types", "--gate-bias", "29"])
    let container = directory.file("bias.emoe")
    try ExportSteps.convert(
      source, to: container,
      [
        "--experts", "16", "--layers", "29", "--restarts", "1",
        "--router-bias", "--ffn-pattern",
        "gate=blk.{L}.ffn_gate.weight,up=blk.{L}.ffn_up.weight,down=blk.{L}.ffn_down.weight,"
          + "gate_bias=blk.{L}.ffn_gate.bias,act=silu",
      ])
    for topK in [[], ["--top-k", "4"]] {
      let output = directory.file("out.gguf")
      let refused = try CommandRunner.run(
        ["export", container, output, "--to", "gguf"] + topK)
      #expect(refused.status == 2, "\(topK)")
      #expect(refused.stderr.contains("layers [29] have biases"), "\(refused.stderr)")
      #expect(refused.stderr.contains("router_bias"), "\(refused.stderr)")
      #expect(!FileSystem.exists(output))
    }
  }
}
