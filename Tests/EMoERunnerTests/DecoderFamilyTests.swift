import EMoECore
import EMoEFormats
import EMoERunner
import EMoETestSupport
import Foundation
import Testing

/// The LLaMA-family decoder against PyTorch on each `model_type` it claims (Mistral, Qwen2 with
/// its q/k/v biases, Qwen3 with its per-head q/k norms, Gemma with its (1 + w) norms, embedding
/// scale and legacy `gelu`, Gemma 2 with its sandwich norms, query scale and soft caps), and the
/// families that share LLaMA's tensor names but compute something else, which it must refuse.
@Suite("LLaMA-family decoders against transformers, and families the runner refuses")
struct DecoderFamilyTests {
  static let tokens = [3, 17, 42, 5, 88, 23, 61, 9, 14, 70]

  static func make(_ family: String, in directory: TemporaryDirectory) throws -> String {
    try TinyDecoders.make(family, in: directory)
  }

  @Test(
    "Mistral, Qwen2, Qwen3, Gemma and Gemma 2 logits equal transformers' to 1e-4 of their range",
    .enabled(if: Oracles.python(["torch", "transformers", "safetensors"])),
    arguments: ["mistral", "qwen2", "qwen3", "gemma", "gemma2"])
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
    if family == "mistral" || family == "gemma2" {
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
    "a Gemma 3 checkpoint, LLaMA's tensor names and all, is refused by name",
    .enabled(if: Oracles.python(["torch", "transformers", "safetensors"])))
  func gemma3Refused() throws {
    try PythonOracle.require(["torch", "transformers", "safetensors"])
    let directory = try TemporaryDirectory()
    let folder = try Self.make("gemma3", in: directory)
    let error = try #require(throws: RunnerError.self) {
      try LlamaDecoder(source: try SafeTensorsCheckpoint(path: folder))
    }
    #expect(error.description.contains("model_type 'gemma3_text'"))
    #expect(error.location?.key == "model_type")
  }

  @Test("Phi-3, Gemma 3, GPT-NeoX and OLMo configs are refused by their model_type")
  func configsRefused() throws {
    for modelType in ["phi3", "gemma3_text", "gpt_neox", "olmo"] {
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
