import EMoECore
import EMoEFormats
import EMoERunner
import EMoETestSupport
import Foundation
import Testing

/// The LLaMA-family decoder against PyTorch on each `model_type` it claims (Mistral, Qwen2 with
/// its q/k/v biases, Qwen3 with its per-head q/k norms), and the families that share LLaMA's
/// tensor names but compute something else, which it must refuse.
@Suite("LLaMA-family decoders against transformers, and families the runner refuses")
struct DecoderFamilyTests {
  /// Builds a tiny seeded model of each family with transformers, saves it, and writes the
  /// float64 logits for fixed token ids as F32 (`logits.f32`) beside it.
  static let maker = #"""
    import json, sys, pathlib
    import numpy as np, torch, transformers
    from safetensors.torch import save_file
    family, out = sys.argv[1], pathlib.Path(sys.argv[2])
    torch.manual_seed(7)
    common = dict(vocab_size=96, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                  rms_norm_eps=1e-6, rope_theta=10000.0, tie_word_embeddings=False)
    if family == "mistral":
        config = transformers.MistralConfig(sliding_window=12, **common)
        model = transformers.MistralForCausalLM(config)
    elif family == "qwen2":
        config = transformers.Qwen2Config(**common)
        model = transformers.Qwen2ForCausalLM(config)
    elif family == "qwen3":
        config = transformers.Qwen3Config(head_dim=24, **common)
        model = transformers.Qwen3ForCausalLM(config)
    elif family == "gemma":
        config = transformers.GemmaConfig(head_dim=16, **common)
        model = transformers.GemmaForCausalLM(config)
    model = model.eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            # Visible norms and biases, so that skipping one would show.
            if p.dim() == 1:
                p.copy_(1 + 0.3 * torch.randn_like(p))
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
    config.to_json_file(str(out / "config.json"))
    tokens = [3, 17, 42, 5, 88, 23, 61, 9, 14, 70]
    with torch.no_grad():
        logits = model.double()(torch.tensor([tokens])).logits[0]
    (out / "logits.f32").write_bytes(logits.numpy().astype("<f4").tobytes())
    print(json.dumps(tokens))
    """#

  static let tokens = [3, 17, 42, 5, 88, 23, 61, 9, 14, 70]

  /// Makes `family`'s tiny model in `directory` and returns its folder.
  static func make(_ family: String, in directory: TemporaryDirectory) throws -> String {
    let folder = directory.file(family)
    _ = try PythonOracle.check(maker, arguments: [family, folder])
    return folder
  }

  @Test(
    "Mistral, Qwen2 and Qwen3 logits equal transformers' to 1e-4 of their range; stray norms refused",
    .enabled(if: Oracles.python(["torch", "transformers", "safetensors"])),
    arguments: ["mistral", "qwen2", "qwen3"])
  func matchesTransformers(family: String) throws {
    try PythonOracle.require(["torch", "transformers", "safetensors"])
    let directory = try TemporaryDirectory()
    let folder = try Self.make(family, in: directory)
    let decoder = try LlamaDecoder(source: try SafeTensorsCheckpoint(path: folder))
    #expect(decoder.configuration.queryKeyNorm == (family == "qwen3"))
    let output = try decoder.run(tokens: Self.tokens)
    let expected = try Data(contentsOf: URL(fileURLWithPath: folder + "/logits.f32"))
      .withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    #expect(output.logits.count == expected.count)
    let range = expected.map(abs).max() ?? 0
    let worst = zip(output.logits, expected).map { abs($0 - $1) }.max() ?? .infinity
    #expect(range > 0.1, "\(family): logits too small to compare")
    #expect(worst <= 1e-4 * range, "\(family): max |Δ| \(worst) of \(range)")
    if family == "mistral" {
      // The window is 12 tokens; the runner attends to everything, so it refuses longer runs.
      #expect(throws: RunnerError.self) { try decoder.run(tokens: Array(repeating: 1, count: 13)) }
    }
    if family == "qwen3" {
      // The same weights declared as LLaMA: the query norms would be skipped, so they refuse.
      let configPath = folder + "/config.json"
      let text = try String(contentsOfFile: configPath, encoding: .utf8)
      try text.replacingOccurrences(of: "\"qwen3\"", with: "\"llama\"")
        .write(toFile: configPath, atomically: true, encoding: .utf8)
      let error = try #require(throws: RunnerError.self) {
        try LlamaDecoder(source: try SafeTensorsCheckpoint(path: folder))
      }
      #expect(error.location?.tensor == "model.layers.0.self_attn.q_norm.weight")
    }
  }

  @Test(
    "a Gemma checkpoint, LLaMA's tensor names and all, is refused by name",
    .enabled(if: Oracles.python(["torch", "transformers", "safetensors"])))
  func gemmaRefused() throws {
    try PythonOracle.require(["torch", "transformers", "safetensors"])
    let directory = try TemporaryDirectory()
    let folder = try Self.make("gemma", in: directory)
    let error = try #require(throws: RunnerError.self) {
      try LlamaDecoder(source: try SafeTensorsCheckpoint(path: folder))
    }
    #expect(error.description.contains("model_type 'gemma'"))
    #expect(error.location?.key == "model_type")
  }

  @Test("Phi-3, Gemma 2, Gemma 3 and OLMo configs are refused by their model_type")
  func configsRefused() throws {
    for modelType in ["phi3", "gemma2", "gemma3_text", "olmo"] {
      let config = try JSONValue.parse(
        #"{"model_type": "\#(modelType)", "hidden_size": 8, "num_attention_heads": 2, "#
          + #""num_hidden_layers": 1, "vocab_size": 4, "intermediate_size": 16}"#)
      let error = try #require(throws: RunnerError.self) {
        try LlamaConfiguration(config: config, file: "config.json")
      }
      #expect(error.description.contains("'\(modelType)'"))
    }
  }
}
