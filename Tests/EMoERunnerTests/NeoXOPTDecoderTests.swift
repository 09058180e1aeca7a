import EMoECore
import EMoEFormats
import EMoERunner
import EMoETestSupport
import Foundation
import Testing

/// The GPT-NeoX and OPT decoders against PyTorch, and the configurations they refuse.
///
/// GPT-NeoX with its fused per-head q/k/v projection, partial rotary (half of each head) and
/// both residual layouts; OPT with its learned positions at offset 2, scaled queries and tied
/// head. Configurations a runner does not compute are refused by key, not approximated.
@Suite("GPT-NeoX and OPT decoders against transformers")
struct NeoXOPTDecoderTests {
  static func expectedLogits(_ folder: String) throws -> [Float] {
    try Data(contentsOf: URL(fileURLWithPath: folder + "/logits.f32"))
      .withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
  }

  @Test(
    "GPT-NeoX (parallel, sequential residual) and OPT logits equal transformers' to 1e-4 of range",
    .enabled(if: Oracles.python(["torch", "transformers", "safetensors"])),
    arguments: ["gpt_neox", "gpt_neox_sequential", "opt"])
  func matchesTransformers(family: String) throws {
    try PythonOracle.require(["torch", "transformers", "safetensors"])
    let directory = try TemporaryDirectory()
    let folder = try TinyDecoders.make(family, in: directory)
    let source = try SafeTensorsCheckpoint(path: folder)
    let decoder: any CausalDecoder
    if family == "opt" {
      let opt = try OPTDecoder(source: source)
      #expect(opt.configuration.tiedEmbeddings)
      #expect(opt.maximumTokens == 64)
      // Position 64 would read past the learned table.
      #expect(throws: RunnerError.self) {
        try opt.decode(tokens: Array(repeating: 1, count: 65), replacing: [:])
      }
      decoder = opt
    } else {
      let neox = try GPTNeoXDecoder(source: source)
      #expect(neox.configuration.parallelResidual == (family == "gpt_neox"))
      #expect(neox.configuration.rotaryDimension == 8)
      #expect(!neox.configuration.tiedEmbeddings)
      decoder = neox
    }
    #expect(decoder.layerCount == 2 && decoder.hiddenSize == 64 && decoder.vocabularySize == 96)
    let output = try decoder.decode(tokens: TinyDecoders.tokens, replacing: [:])
    let expected = try Self.expectedLogits(folder)
    #expect(output.logits.count == expected.count)
    #expect(output.hiddenStates.count == TinyDecoders.tokens.count * 64)
    let range = expected.map(abs).max() ?? 0
    let worst = zip(output.logits, expected).map { abs($0 - $1) }.max() ?? .infinity
    #expect(range > 0.1, "\(family): logits too small to compare")
    #expect(worst <= 1e-4 * range, "\(family): max |Δ| \(worst) of \(range)")

    // The Hub's older names for the same weights: facebook/opt's `decoder.…` without `model.`
    // and no stored head (tied), Pythia's `embed_out` for the head. Same logits, bit for bit.
    _ = try PythonOracle.check(Self.renamer, arguments: [folder + "/model.safetensors", family])
    let renamed = try SafeTensorsCheckpoint(path: folder)
    let names = Set(renamed.tensorInfos.map(\.name))
    let reloaded: any CausalDecoder
    if family == "opt" {
      #expect(names.contains("decoder.embed_tokens.weight") && !names.contains("lm_head.weight"))
      reloaded = try OPTDecoder(source: renamed)
    } else {
      #expect(names.contains("embed_out.weight") && !names.contains("lm_head.weight"))
      reloaded = try GPTNeoXDecoder(source: renamed)
    }
    #expect(
      try reloaded.decode(tokens: TinyDecoders.tokens, replacing: [:]).logits == output.logits)
  }

  /// Rewrites a fixture's safetensors under the names older Hub checkpoints use.
  static let renamer = #"""
    import sys
    from safetensors.numpy import load_file, save_file
    path, family = sys.argv[1], sys.argv[2]
    tensors = load_file(path)
    if family == "opt":
        tensors = {k.removeprefix("model."): v for k, v in tensors.items() if k != "lm_head.weight"}
    else:
        tensors["embed_out.weight"] = tensors.pop("lm_head.weight")
    save_file(tensors, path, metadata={"format": "pt"})
    """#

  static func config(_ text: String) throws -> JSONValue { try JSONValue.parse(text) }

  @Test("GPT-NeoX configurations the runner does not compute are refused by key")
  func neoxRefusals() throws {
    let base =
      #""model_type": "gpt_neox", "vocab_size": 8, "hidden_size": 16, "num_hidden_layers": 1, "#
      + #""num_attention_heads": 2, "intermediate_size": 32"#
    let cases: [(String, String)] = [
      (#""hidden_act": "gelu_new""#, "hidden_act"),
      (#""rope_scaling": {"type": "linear", "factor": 2.0}"#, "rope_scaling"),
      (#""rope_parameters": {"rope_type": "dynamic", "rope_theta": 10000.0}"#, "rope_parameters"),
      // 8 · 0.25 = 2 is fine; 8 · 0.375 = 3 rotary values cannot pair.
      (#""rotary_pct": 0.375"#, "rotary_pct"),
    ]
    for (extra, key) in cases {
      let error = try #require(throws: RunnerError.self) {
        try GPTNeoXConfiguration(config: Self.config("{\(base), \(extra)}"), file: "config.json")
      }
      #expect(error.location?.key == key, "\(extra): \(error)")
    }
    // Pythia's own keys: rotary_pct and rotary_emb_base, before rope_parameters existed.
    let pythia = try GPTNeoXConfiguration(
      config: Self.config(
        "{\(base), \"rotary_pct\": 0.5, \"rotary_emb_base\": 500, \"use_parallel_residual\": false}"
      ), file: "config.json")
    #expect(pythia.rotaryDimension == 4 && pythia.ropeTheta == 500 && !pythia.parallelResidual)
    // transformers' defaults when neither is given: a quarter of each head, θ = 10000.
    let defaults = try GPTNeoXConfiguration(config: Self.config("{\(base)}"), file: "config.json")
    #expect(defaults.rotaryDimension == 2 && defaults.ropeTheta == 10000)
    #expect(defaults.parallelResidual && defaults.attentionBias && !defaults.tiedEmbeddings)
  }

  @Test("OPT configurations the runner does not compute are refused by key")
  func optRefusals() throws {
    let base =
      #""model_type": "opt", "vocab_size": 8, "hidden_size": 16, "num_hidden_layers": 1, "#
      + #""num_attention_heads": 2, "ffn_dim": 32, "max_position_embeddings": 16"#
    let cases: [(String, String)] = [
      (#""do_layer_norm_before": false"#, "do_layer_norm_before"),
      (#""word_embed_proj_dim": 8"#, "word_embed_proj_dim"),
      (#""activation_function": "gelu""#, "activation_function"),
      (#""_remove_final_layer_norm": true"#, "_remove_final_layer_norm"),
    ]
    for (extra, key) in cases {
      let error = try #require(throws: RunnerError.self) {
        try OPTConfiguration(config: Self.config("{\(base), \(extra)}"), file: "config.json")
      }
      #expect(error.location?.key == key, "\(extra): \(error)")
    }
    let plain = try OPTConfiguration(
      config: Self.config("{\(base), \"word_embed_proj_dim\": 16}"), file: "config.json")
    #expect(plain.tiedEmbeddings && plain.biases && plain.normAffine)
    let wrongType = try #require(throws: RunnerError.self) {
      try OPTConfiguration(
        config: Self.config(#"{"model_type": "gpt_neox", "hidden_size": 16}"#), file: "c.json")
    }
    #expect(wrongType.location?.key == "model_type")
  }
}
