import EMoECore
import EMoEFormats
import EMoENumerics
import EMoERunner
import EMoETestSupport
import Foundation
import Testing

/// The whole-model runners against PyTorch (Fixtures/runner_golden): BERT on the real
/// all-MiniLM-L6-v2 and the bert-tiny fixture, LLaMA on the real SmolLM2 Q4_1 GGUF and the
/// llama-tiny fixture (as safetensors and as a GGUF written with llama.cpp's q/k permutation).
@Suite("whole-model runners against PyTorch")
struct ModelRunnerTests {
  /// Checks BERT hidden states against the golden entry `name`.
  private func checkBert(_ encoder: BertEncoder, golden: RunnerGolden.Model) throws {
    let hidden = try encoder.hiddenStates(tokens: golden.tokens)
    let expected = try RunnerGolden.floats(golden.hidden)
    let comparison = RowComparison(hidden, expected, columns: encoder.configuration.hiddenSize)
    let maxAbs = try #require(golden.tolerance.max_abs)
    #expect(comparison.maxAbs <= maxAbs, "\(golden.name): max |Δ| \(comparison.maxAbs)")
    #expect(
      comparison.minCosine >= golden.tolerance.min_row_cosine,
      "\(golden.name): min row cosine \(comparison.minCosine)")
  }

  /// Checks LLaMA hidden states and logits against the golden entry.
  private func checkLlama(_ output: LlamaDecoder.Output, golden: RunnerGolden.Model, hidden d: Int)
    throws
  {
    let tolerance = golden.tolerance
    let expected = try RunnerGolden.floats(golden.hidden)
    let rows = RowComparison(output.hiddenStates, expected, columns: d)
    let relative = try #require(tolerance.hidden_max_abs_relative)
    #expect(
      rows.maxAbs <= relative * rows.referenceMax,
      "\(golden.name): hidden max |Δ| \(rows.maxAbs) of \(rows.referenceMax)")
    #expect(rows.minCosine >= tolerance.min_row_cosine, "\(golden.name): \(rows.minCosine)")

    let vocabulary = try #require(golden.vocabulary)
    let tokens = golden.tokens.count
    #expect(output.logits.count == tokens * vocabulary)
    let lastRow = Array(output.logits[((tokens - 1) * vocabulary)...])
    let last = Comparison(lastRow, try RunnerGolden.floats(try #require(golden.last_logits)))
    let logitsMaxAbs = try #require(tolerance.logits_max_abs)
    #expect(last.maxAbs <= logitsMaxAbs, "\(golden.name): last logits \(last)")
    #expect(last.cosine >= (tolerance.min_logit_cosine ?? 1), "\(golden.name): \(last)")

    let topValues = try RunnerGolden.floats(try #require(golden.top_logit_values))
    let topIndices = try RunnerGolden.integers(try #require(golden.top_logit_indices))
    let width = topIndices.count / tokens
    var worst: Float = 0
    for position in 0..<tokens {
      let row = output.logits[(position * vocabulary)..<((position + 1) * vocabulary)]
      let argmax = row.indices.max { row[$0] < row[$1] || (row[$0] == row[$1] && $0 > $1) }!
      #expect(
        argmax - position * vocabulary == topIndices[position * width],
        "\(golden.name): argmax at position \(position)")
      for rank in 0..<width {
        let index = topIndices[position * width + rank]
        worst = max(
          worst, abs(row[position * vocabulary + index] - topValues[position * width + rank]))
      }
    }
    #expect(worst <= logitsMaxAbs, "\(golden.name): top-\(width) logits max |Δ| \(worst)")
  }

  @Test("BERT on all-MiniLM-L6-v2 matches transformers' BertModel", .enabled(if: Oracles.miniLM))
  func miniLM() throws {
    let path = try #require(try TestPaths.miniLM())
    let golden = try #require(try RunnerGolden.model("minilm"))
    let encoder = try BertEncoder(source: try SafeTensorsCheckpoint(path: path))
    try checkBert(encoder, golden: golden)
  }

  @Test("BERT on the bert-tiny fixture matches transformers' BertModel")
  func bertTiny() throws {
    let golden = try #require(try RunnerGolden.model("bert-tiny"))
    let source = try SafeTensorsCheckpoint(path: TestPaths.fixtures + "/models/bert-tiny")
    try checkBert(try BertEncoder(source: source), golden: golden)
  }

  @Test(
    "LLaMA on the SmolLM2 Q4_1 GGUF matches transformers' dequantised model",
    .enabled(if: Oracles.smolLM2))
  func smolLM2() throws {
    let path = try #require(try TestPaths.smolLM2())
    let golden = try #require(try RunnerGolden.model("smollm2"))
    let decoder = try LlamaDecoder(source: try GGUFFile(path: path))
    #expect(decoder.configuration.tiedEmbeddings)
    let output = try decoder.run(tokens: golden.tokens)
    try checkLlama(output, golden: golden, hidden: decoder.configuration.hiddenSize)
  }

  @Test("LLaMA on the llama-tiny fixture matches transformers' LlamaForCausalLM")
  func llamaTiny() throws {
    let golden = try #require(try RunnerGolden.model("llama-tiny"))
    let decoder = try LlamaDecoder(
      source: try SafeTensorsCheckpoint(path: TestPaths.fixtures + "/models/llama-tiny"))
    let output = try decoder.run(tokens: golden.tokens)
    try checkLlama(output, golden: golden, hidden: decoder.configuration.hiddenSize)
  }

  @Test(
    "a GGUF written with llama.cpp's q/k permutation runs like the safetensors original",
    .enabled(if: Oracles.python(["numpy", "gguf", "safetensors"])))
  func llamaTinyGGUF() throws {
    try PythonOracle.require(["numpy", "gguf", "safetensors"])
    let golden = try #require(try RunnerGolden.model("llama-tiny"))
    let directory = try TemporaryDirectory()
    let path = directory.file("llama-tiny.gguf")
    _ = try PythonOracle.check(
      Self.ggufWriter, arguments: [TestPaths.fixtures + "/models/llama-tiny", path])
    let decoder = try LlamaDecoder(source: try GGUFFile(path: path))
    #expect(!decoder.configuration.tiedEmbeddings)
    let output = try decoder.run(tokens: golden.tokens)
    try checkLlama(output, golden: golden, hidden: decoder.configuration.hiddenSize)
  }

  /// Writes a llama GGUF from a Hugging Face LLaMA folder the way convert_hf_to_gguf.py does:
  /// llama.* metadata, GGUF tensor names, and q/k rows permuted for interleaved rotary pairs.
  static let ggufWriter = #"""
    import json, sys
    import numpy as np
    import gguf
    from safetensors.numpy import load_file
    folder, out = sys.argv[1], sys.argv[2]
    cfg = json.load(open(folder + "/config.json"))
    t = load_file(folder + "/model.safetensors")
    heads, kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    def permute(w, n_head):
        return (w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
                 .swapaxes(1, 2).reshape(w.shape))
    w = gguf.GGUFWriter(out, "llama")
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(heads)
    w.add_head_count_kv(kv)
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    w.add_rope_freq_base(cfg["rope_theta"])
    w.add_rope_dimension_count(cfg["head_dim"])
    w.add_tensor("token_embd.weight", t["model.embed_tokens.weight"])
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        b = f"blk.{i}."
        w.add_tensor(b + "attn_norm.weight", t[p + "input_layernorm.weight"])
        w.add_tensor(b + "attn_q.weight", permute(t[p + "self_attn.q_proj.weight"], heads))
        w.add_tensor(b + "attn_k.weight", permute(t[p + "self_attn.k_proj.weight"], kv))
        w.add_tensor(b + "attn_v.weight", t[p + "self_attn.v_proj.weight"])
        w.add_tensor(b + "attn_output.weight", t[p + "self_attn.o_proj.weight"])
        w.add_tensor(b + "ffn_norm.weight", t[p + "post_attention_layernorm.weight"])
        w.add_tensor(b + "ffn_gate.weight", t[p + "mlp.gate_proj.weight"])
        w.add_tensor(b + "ffn_up.weight", t[p + "mlp.up_proj.weight"])
        w.add_tensor(b + "ffn_down.weight", t[p + "mlp.down_proj.weight"])
    w.add_tensor("output_norm.weight", t["model.norm.weight"])
    w.add_tensor("output.weight", t["lm_head.weight"])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    """#
}
