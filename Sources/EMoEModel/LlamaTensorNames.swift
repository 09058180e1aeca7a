/// The correspondence between Hugging Face LLaMA-family tensor names (LLaMA, Mistral, Qwen2/3,
/// SmolLM) and llama.cpp's GGUF names, as `convert_hf_to_gguf.py` maps them.
///
/// Only the tensors of the LLaMA graph are mapped: embedding, per-layer norms, attention
/// projections (with their optional biases, Qwen2's q/k/v among them), Qwen3's per-head q/k
/// norms, the SwiGLU FFN, the final norm and the output head. Names outside the table give
/// `nil`, so a caller can name the tensor it cannot place.
public enum LlamaTensorNames {
  /// Per-layer modules: Hugging Face suffix after `model.layers.N.`, GGUF suffix after `blk.N.`.
  static let layerModules: [(huggingFace: String, gguf: String)] = [
    ("input_layernorm", "attn_norm"),
    ("self_attn.q_proj", "attn_q"),
    ("self_attn.k_proj", "attn_k"),
    ("self_attn.v_proj", "attn_v"),
    ("self_attn.o_proj", "attn_output"),
    ("self_attn.q_norm", "attn_q_norm"),
    ("self_attn.k_norm", "attn_k_norm"),
    ("post_attention_layernorm", "ffn_norm"),
    ("mlp.gate_proj", "ffn_gate"),
    ("mlp.up_proj", "ffn_up"),
    ("mlp.down_proj", "ffn_down"),
  ]

  /// Whole-model tensors (full names without the `.weight`/`.bias` suffix).
  static let globalModules: [(huggingFace: String, gguf: String)] = [
    ("model.embed_tokens", "token_embd"),
    ("model.norm", "output_norm"),
    ("lm_head", "output"),
  ]

  /// The GGUF name of Hugging Face tensor `name`, or `nil` when it is not a LLaMA tensor.
  public static func gguf(forHuggingFace name: String) -> String? {
    map(name, layerPrefix: "model.layers.", to: "blk.", modules: layerModules, forward: true)
  }

  /// The Hugging Face name of GGUF tensor `name`, or `nil` when it is not a LLaMA tensor.
  public static func huggingFace(forGGUF name: String) -> String? {
    map(name, layerPrefix: "blk.", to: "model.layers.", modules: layerModules, forward: false)
  }

  /// Whether the tensor's rows are permuted between the two layouts (`attn_q`, `attn_k` and
  /// their biases): see ``LlamaRotaryPermutation``.
  public static func isRotaryPermuted(gguf name: String) -> Bool {
    guard name.hasPrefix("blk.") else { return false }
    return name.hasSuffix(".attn_q.weight") || name.hasSuffix(".attn_k.weight")
      || name.hasSuffix(".attn_q.bias") || name.hasSuffix(".attn_k.bias")
  }

  private static func map(
    _ name: String, layerPrefix: String, to otherPrefix: String,
    modules: [(huggingFace: String, gguf: String)], forward: Bool
  ) -> String? {
    let suffixes = [".weight", ".bias"]
    guard let suffix = suffixes.first(where: { name.hasSuffix($0) }) else { return nil }
    let stem = String(name.dropLast(suffix.count))
    for module in globalModules where (forward ? module.huggingFace : module.gguf) == stem {
      return (forward ? module.gguf : module.huggingFace) + suffix
    }
    guard stem.hasPrefix(layerPrefix) else { return nil }
    let rest = stem.dropFirst(layerPrefix.count)
    guard let dot = rest.firstIndex(of: "."), let layer = Int(rest[..<dot]), layer >= 0,
      String(layer) == rest[..<dot]
    else { return nil }
    let module = String(rest[rest.index(after: dot)...])
    for entry in modules where (forward ? entry.huggingFace : entry.gguf) == module {
      return otherPrefix + "\(layer)." + (forward ? entry.gguf : entry.huggingFace) + suffix
    }
    return nil
  }
}
