import EMoEModel
import Testing

@Suite("LLaMA tensor names and the rotary row permutation")
struct LlamaTensorNamesTests {
  @Test("Hugging Face and GGUF names map both ways, and other names map to nothing")
  func namesRoundTrip() {
    let pairs = [
      ("model.embed_tokens.weight", "token_embd.weight"),
      ("model.norm.weight", "output_norm.weight"),
      ("lm_head.weight", "output.weight"),
      ("model.layers.0.self_attn.q_proj.weight", "blk.0.attn_q.weight"),
      ("model.layers.12.self_attn.k_proj.bias", "blk.12.attn_k.bias"),
      ("model.layers.3.self_attn.q_norm.weight", "blk.3.attn_q_norm.weight"),
      ("model.layers.29.mlp.down_proj.weight", "blk.29.ffn_down.weight"),
      ("model.layers.7.post_attention_layernorm.weight", "blk.7.ffn_norm.weight"),
    ]
    for (hf, gguf) in pairs {
      #expect(LlamaTensorNames.gguf(forHuggingFace: hf) == gguf)
      #expect(LlamaTensorNames.huggingFace(forGGUF: gguf) == hf)
    }
    #expect(LlamaTensorNames.gguf(forHuggingFace: "model.layers.01.mlp.up_proj.weight") == nil)
    #expect(LlamaTensorNames.gguf(forHuggingFace: "model.layers.1.mlp.experts.weight") == nil)
    #expect(LlamaTensorNames.huggingFace(forGGUF: "blk.1.ffn_gate_exps.weight") == nil)
    #expect(LlamaTensorNames.isRotaryPermuted(gguf: "blk.4.attn_k.weight"))
    #expect(!LlamaTensorNames.isRotaryPermuted(gguf: "blk.4.attn_v.weight"))
  }

  @Test("the permutation matches convert_hf_to_gguf.py's and unpermute inverts it")
  func permutation() {
    // Two heads of 4 rows, 2 columns: convert_hf_to_gguf's
    // w.reshape(heads, 2, hd/2, cols).swapaxes(1, 2) gives, per head, rows 0, 2, 1, 3.
    let rows = (0..<8).flatMap { row in [Float(row * 10), Float(row * 10 + 1)] }
    let permuted = LlamaRotaryPermutation.permute(rows, heads: 2, columns: 2)
    let expectedOrder = [0, 2, 1, 3, 4, 6, 5, 7]
    #expect(permuted == expectedOrder.flatMap { [Float($0 * 10), Float($0 * 10 + 1)] })
    #expect(LlamaRotaryPermutation.unpermute(permuted, heads: 2, columns: 2) == rows)
  }
}
