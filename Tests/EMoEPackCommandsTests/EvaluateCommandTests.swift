import EMoECore
import EMoETestSupport
import Foundation
import Testing

/// `emoe-pack evaluate` on the real models, its figures recomputed independently: numpy's
/// perplexity over the logits of `run --model` on the same windows, with token ids from the
/// Hugging Face `tokenizers` package.
@Suite("evaluate command")
struct EvaluateCommandTests {
  static let licence = "/usr/share/common-licenses/Apache-2.0"

  static func json(_ output: ChildProcess.Output) throws -> JSONValue {
    try #require(output.status == 0, "\(output.stderr)")
    return try JSONValue.parse(output.stdout)
  }

  /// Python: the SmolLM2 GGUF's tokenizer in `tokenizers` (as TokenizerOracleTests builds it);
  /// writes the first argv[3] ids of argv[2] to argv[4] as input_ids, and prints them.
  static let tokenizeScript = #"""
    import json, sys
    import numpy as np
    from gguf import GGUFReader
    from safetensors.numpy import save_file
    from tokenizers import Tokenizer, models, pre_tokenizers
    r = GGUFReader(sys.argv[1])
    def strings(key):
        f = r.fields[key]
        return [bytes(f.parts[i]).decode("utf-8") for i in f.data]
    tokens = strings("tokenizer.ggml.tokens")
    merges = [tuple(m.split(" ", 1)) for m in strings("tokenizer.ggml.merges")]
    tok = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    ids = tok.encode(open(sys.argv[2], encoding="utf-8", newline="").read()).ids[: int(sys.argv[3])]
    print(json.dumps(ids))
    """#

  /// Python: the perplexity over windows of logits.
  ///
  /// argv[1]: the token ids as JSON; then, per window, the file of its logits, its first
  /// token, its first scored token and its end.
  static let perplexityScript = #"""
    import json, sys
    import numpy as np
    from safetensors.numpy import load_file
    ids = json.loads(sys.argv[1])
    nll, count = 0.0, 0
    args = sys.argv[2:]
    for i in range(0, len(args), 4):
        logits = load_file(args[i])["logits"].astype(np.float64)
        start, first, end = int(args[i + 1]), int(args[i + 2]), int(args[i + 3])
        for p in range(first, end):
            row = logits[p - 1 - start]
            m = row.max()
            nll += np.log(np.exp(row - m).sum()) - (row[ids[p]] - m)
            count += 1
    assert count == len(ids) - 1, (count, len(ids))
    print(repr(float(np.exp(nll / count))))
    """#

  @Test(
    "SmolLM2: perplexity of the source and the EMoE model equal numpy's over run --model",
    .enabled(if: Oracles.smolLM2 && Oracles.python(["numpy", "safetensors", "gguf", "tokenizers"])))
  func smolLM2Perplexity() throws {
    let smol = try #require(try TestPaths.smolLM2())
    let directory = try TemporaryDirectory()
    let container = directory.file("smol.emoe")
    let converted = try CommandRunner.run([
      "convert", smol, container, "--layers", "last:2", "--experts", "16", "--quiet",
    ])
    try #require(converted.status == 0, "\(converted.stderr)")
    let report = try Self.json(
      CommandRunner.run([
        "evaluate", container, "--text", Self.licence, "--source", smol, "--max-tokens", "200",
        "--window", "128", "--top-k", "16,4", "--json", "--quiet",
      ]))
    #expect(report["measure"] == .string("perplexity"))
    #expect(report["tokens"]?.intValue == 200)
    #expect(report["windows"]?.intValue == 3)
    #expect(report["dense"]?["from"] == .string("source"))
    let results = try #require(report["results"]?.arrayValue)
    try #require(results.count == 2)
    // The token ids: the `tokenizers` package's, written for run --model.
    let idsText = try PythonOracle.check(
      Self.tokenizeScript, arguments: [smol, Self.licence, "200"])
    let ids = try #require(try JSONValue.parse(idsText).arrayValue).compactMap(\.intValue)
    try #require(ids.count == 200)
    // Windows of 128 tokens sliding by 64: [0, 128) scores 1..<128, [64, 192) scores
    // 128..<192, [128, 200) scores 192..<200.
    let windows = [(0, 1, 128), (64, 128, 192), (128, 192, 200)]
    func oraclePerplexity(_ runArguments: [String], label: String) throws -> Double {
      var quadruples: [String] = []
      for (start, first, end) in windows {
        let input = directory.file("\(label)-\(start)-ids.safetensors")
        let output = directory.file("\(label)-\(start)-out.safetensors")
        try KernelDeterminismTests.tokenIDs(ids[start..<end].map { Int64($0) }, to: input)
        let run = try CommandRunner.run(
          ["run"] + runArguments + ["--model", "--inputs", input, "--out", output, "--quiet"])
        try #require(run.status == 0, "\(run.stderr)")
        quadruples += [output, String(start), String(first), String(end)]
      }
      let text = try PythonOracle.check(
        Self.perplexityScript,
        arguments: [idsText.trimmingCharacters(in: .whitespacesAndNewlines)] + quadruples)
      return try #require(Double(text.trimmingCharacters(in: .whitespacesAndNewlines)))
    }
    let dense = try oraclePerplexity([smol, "--dense"], label: "dense")
    let reported = try #require(report["dense"]?["perplexity"]?.doubleValue)
    #expect(abs(reported / dense - 1) < 1e-9, "dense: evaluate \(reported), numpy \(dense)")
    #expect(dense > 3 && dense < 60, "a real English text has a plausible perplexity: \(dense)")
    for (index, k) in [16, 4].enumerated() {
      let expected = try oraclePerplexity([container, "--top-k", String(k)], label: "k\(k)")
      let point = results[index]
      #expect(point["top_k"]?.intValue == k)
      let value = try #require(point["perplexity"]?.doubleValue)
      #expect(abs(value / expected - 1) < 1e-9, "k = \(k): evaluate \(value), numpy \(expected)")
      let increase = try #require(point["increase"]?.doubleValue)
      #expect(abs(increase - (value / reported - 1)) < 1e-12)
    }
    // k = E computes the dense FFN; k = 4 of 16 costs quality.
    let k16 = try #require(results[0]["perplexity"]?.doubleValue)
    let k4 = try #require(results[1]["perplexity"]?.doubleValue)
    #expect(abs(k16 / reported - 1) < 1e-3)
    #expect(k4 > k16 * 1.01)
    // Active share: layers 28 and 29 of 30, d 576, n 1536, GLU; 4 of 16 experts of 96 neurons
    // plus the router's 16 x 576.
    let active = try #require(results[1]["active_fraction"])
    let activeMACs: Double = 3 * 576 * 384 + 16 * 576
    let denseMACs: Double = 3 * 576 * 1536
    let share = activeMACs / denseMACs
    #expect(abs((active["converted_layers"]?.doubleValue ?? 0) - share) < 1e-12)
    #expect(abs((active["model_ffn"]?.doubleValue ?? 0) - (2 * share + 28) / 30) < 1e-12)
  }

  @Test(
    "MiniLM: sentence-embedding cosine is 1 at k = E and drops at k < E",
    .enabled(if: Oracles.miniLM))
  func miniLMCosine() throws {
    let model = try #require(try TestPaths.miniLM())
    let directory = try TemporaryDirectory()
    let container = directory.file("minilm.emoe")
    let converted = try CommandRunner.run(["convert", model, container, "--quiet"])
    try #require(converted.status == 0, "\(converted.stderr)")
    let report = try Self.json(
      CommandRunner.run([
        "evaluate", container, "--text", "/usr/share/common-licenses/BSD", "--source", model,
        "--top-k", "16,2", "--json", "--quiet",
      ]))
    #expect(report["measure"] == .string("cosine"))
    #expect((report["sentences"]?.intValue ?? 0) >= 5)
    #expect(report["tokenizer"] == .string("tokenizer.json WordPiece"))
    let results = try #require(report["results"]?.arrayValue)
    try #require(results.count == 2)
    let full = try #require(results[0]["cosine"]?.doubleValue)
    let sparse = try #require(results[1]["cosine"]?.doubleValue)
    #expect(full > 0.99999, "k = E is the dense model: cosine \(full)")
    #expect(sparse < full - 1e-4 && sparse > 0.5, "k = 2 of 16: cosine \(sparse)")
    #expect(abs((results[1]["loss"]?.doubleValue ?? 0) - (1 - sparse)) < 1e-12)
    // MiniLM has no masked-LM head: no masked-LM figures at all.
    #expect(report["dense"]?["masked_lm_loss"] == nil)
    #expect(results.allSatisfy { $0["masked_lm_loss"] == nil })
    #expect(report["mask_seed"] == nil)
  }

  @Test("An encoder with a masked-LM head: masked-LM loss for dense and each k, equal at k = E")
  func maskedLMLoss() throws {
    let model = TestPaths.fixtures + "/models/bert-tiny-mlm"
    let directory = try TemporaryDirectory()
    let container = directory.file("mlm.emoe")
    let converted = try CommandRunner.run([
      "convert", model, container, "--restarts", "1", "--quiet",
    ])
    try #require(converted.status == 0, "\(converted.stderr)")
    func evaluate(_ extra: [String]) throws -> JSONValue {
      try Self.json(
        CommandRunner.run(
          ["evaluate", container, "--text", Self.licence, "--source", model, "--json", "--quiet"]
            + extra))
    }
    let report = try evaluate([])
    #expect(report["measure"] == .string("cosine"))
    #expect(report["mask_seed"]?.intValue == 0)
    let masked = try #require(report["masked_tokens"]?.intValue)
    #expect(masked > 50, "15 % of the ordinary tokens of the sentences: \(masked)")
    let dense = try #require(report["dense"]?["masked_lm_loss"]?.doubleValue)
    #expect(dense.isFinite && dense > 0)
    let results = try #require(report["results"]?.arrayValue)
    try #require(results.count >= 2)
    let experts = try #require(report["layers"]?.arrayValue?.first?["experts"]?.intValue)
    #expect(results[0]["top_k"]?.intValue == experts)
    let full = try #require(results[0]["masked_lm_loss"]?["loss"]?.doubleValue)
    #expect(abs(full / dense - 1) < 1e-5, "k = E is the dense model: \(full) vs \(dense)")
    #expect(
      abs((results[0]["masked_lm_loss"]?["increase"]?.doubleValue ?? 1) - (full / dense - 1))
        < 1e-12)
    let last = try #require(results.last?["masked_lm_loss"]?["loss"]?.doubleValue)
    #expect(last != full, "k = E/4 changes the masked-LM loss")
    // The seed is recorded and picks the positions: another seed, another dense loss.
    let other = try evaluate(["--mask-seed", "9"])
    #expect(other["mask_seed"]?.intValue == 9)
    #expect(other["dense"]?["masked_lm_loss"]?.doubleValue != dense)
    #expect(try evaluate([])["dense"]?["masked_lm_loss"]?.doubleValue == dense)
    // The HTML report shows the masked-LM losses too.
    let page = directory.file("report.html")
    _ = try evaluate(["--report", page])
    let html = try String(contentsOfFile: page, encoding: .utf8)
    #expect(html.contains("<h2>Masked-LM loss</h2>"))
    let rounded = (dense * 10_000).rounded() / 10_000
    #expect(html.contains("<td>\(rounded)"), "the dense loss \(rounded) is in the page")
  }

  @Test(
    "--per-layer: a layer alone equals a container that converted only that layer",
    .enabled(if: Oracles.miniLM))
  func perLayer() throws {
    let model = try #require(try TestPaths.miniLM())
    let directory = try TemporaryDirectory()
    let both = directory.file("both.emoe")
    let only5 = directory.file("only5.emoe")
    for (container, layers) in [(both, "4,5"), (only5, "5")] {
      let converted = try CommandRunner.run([
        "convert", model, container, "--layers", layers, "--quiet",
      ])
      try #require(converted.status == 0, "\(converted.stderr)")
    }
    let text = "/usr/share/common-licenses/BSD"
    let report = try Self.json(
      CommandRunner.run([
        "evaluate", both, "--text", text, "--source", model, "--top-k", "16,2", "--per-layer",
        "--json", "--quiet",
      ]))
    let perLayer = try #require(report["per_layer"]?.arrayValue)
    // k = 16 is E: only k = 2 is measured, for layers 4 and 5.
    #expect(perLayer.map { $0["layer"]?.intValue } == [4, 5])
    #expect(perLayer.allSatisfy { $0["top_k"]?.intValue == 2 })
    let single = try Self.json(
      CommandRunner.run([
        "evaluate", only5, "--text", text, "--source", model, "--top-k", "2", "--json", "--quiet",
      ]))
    let alone = try #require(perLayer[1]["cosine"]?.doubleValue)
    let converted = try #require(single["results"]?.arrayValue?.first?["cosine"]?.doubleValue)
    #expect(alone == converted, "layer 5 alone: \(alone); only layer 5 converted: \(converted)")
    // One of six FFN layers at 2 of 16 experts (96 of 1536 neurons, router 16 x 384).
    let activeMACs: Double = 2 * 384 * 192 + 16 * 384
    let denseMACs: Double = 2 * 384 * 1536
    let share = activeMACs / denseMACs
    let modelShare = try #require(perLayer[1]["active_fraction_model_ffn"]?.doubleValue)
    #expect(abs(modelShare - (share + 5) / 6) < 1e-12)
  }

  @Test(
    "--baseline random: k = E is still the dense model, k < E is worse than clustering, seeded",
    .enabled(if: Oracles.miniLM))
  func randomBaseline() throws {
    let model = try #require(try TestPaths.miniLM())
    let directory = try TemporaryDirectory()
    let container = directory.file("minilm.emoe")
    let converted = try CommandRunner.run(["convert", model, container, "--quiet"])
    try #require(converted.status == 0, "\(converted.stderr)")
    func evaluate(seed: Int) throws -> [JSONValue] {
      let report = try Self.json(
        CommandRunner.run([
          "evaluate", container, "--text", Self.licence, "--source", model, "--top-k", "16,4",
          "--baseline", "random", "--baseline-seed", String(seed), "--max-tokens", "1500",
          "--json", "--quiet",
        ]))
      #expect(report["random_seed"]?.intValue == seed)
      return try #require(report["results"]?.arrayValue)
    }
    let first = try evaluate(seed: 7)
    let again = try evaluate(seed: 7)
    let other = try evaluate(seed: 8)
    let randomFull = try #require(first[0]["random"]?["cosine"]?.doubleValue)
    let randomSparse = try #require(first[1]["random"]?["cosine"]?.doubleValue)
    let clustered = try #require(first[1]["cosine"]?.doubleValue)
    #expect(randomFull > 0.99999, "every expert of a random partition is the dense FFN")
    #expect(randomSparse < clustered - 0.005, "random \(randomSparse), clustered \(clustered)")
    #expect(again[1]["random"]?["cosine"]?.doubleValue == randomSparse, "same seed, same value")
    #expect(other[1]["random"]?["cosine"]?.doubleValue != randomSparse, "another seed differs")
  }

  @Test("evaluate refuses what it cannot measure, with exit 2 and the reason")
  func errors() throws {
    let directory = try TemporaryDirectory()
    let llama = directory.file("llama.emoe")
    let gpt2 = directory.file("gpt2.emoe")
    for (fixture, container) in [("llama-tiny", llama), ("gpt2-tiny", gpt2)] {
      let converted = try CommandRunner.run([
        "convert", TestPaths.fixtures + "/models/" + fixture, container, "--restarts", "1",
        "--quiet",
      ])
      try #require(converted.status == 0, "\(converted.stderr)")
    }
    let notUTF8 = directory.file("latin1.txt")
    try Data([0x63, 0x61, 0x66, 0xE9, 0x20, 0x61]).write(to: URL(fileURLWithPath: notUTF8))
    let ids = directory.file("ids.safetensors")
    try KernelDeterminismTests.tokenIDs([1, 7, 3, 42, 95, 8], to: ids)
    let cases: [([String], Int32, String)] = [
      (["evaluate", llama, "--text", notUTF8], 2, "(byte 3)"),
      (["evaluate", llama, "--text", Self.licence], 2, "holds no tokenizer"),
      (["evaluate", llama, "--tokens", ids, "--top-k", "999"], 2, "--top-k 999 is above layer"),
      (["evaluate", gpt2, "--tokens", ids], 2, "GPT-2"),
      (["evaluate", llama, "--tokens", ids, "--text", Self.licence], 64, "exactly one of"),
      (["evaluate", llama, "--tokens", ids, "--top-k", "4,x"], 64, "'x'"),
      (["evaluate", llama, "--tokens", ids, "--baseline", "shuffled"], 64, "shuffled"),
    ]
    for (arguments, status, text) in cases {
      let output = try CommandRunner.run(arguments)
      #expect(output.status == status, "\(arguments): \(output.stderr)")
      #expect(output.stderr.contains(text), "\(arguments): \(output.stderr)")
    }
    // Token ids work without a tokenizer.
    let report = try Self.json(
      CommandRunner.run(["evaluate", llama, "--tokens", ids, "--json", "--quiet"]))
    #expect(report["tokenizer"] == .string("token ids"))
    #expect(report["tokens"]?.intValue == 6)
    // A decoder's random partition at k = E is the dense model too.
    let random = try Self.json(
      CommandRunner.run([
        "evaluate", llama, "--tokens", ids, "--baseline", "random", "--top-k", "64", "--json",
        "--quiet",
      ]))
    let dense = try #require(random["dense"]?["perplexity"]?.doubleValue)
    let shuffled = try #require(
      random["results"]?.arrayValue?.first?["random"]?["perplexity"]?.doubleValue)
    #expect(
      abs(shuffled / dense - 1) < 1e-4, "dense \(dense), random partition at k = E \(shuffled)")
  }
}
