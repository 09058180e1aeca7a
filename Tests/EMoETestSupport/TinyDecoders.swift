import Foundation

/// Tiny seeded decoders of the LLaMA-like families, made by transformers itself, with their
/// float64 logits as the oracle.
public enum TinyDecoders {
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
        config = transformers.GemmaConfig(head_dim=16, hidden_act="gelu", **common)
        model = transformers.GemmaForCausalLM(config)
    elif family == "gemma2":
        config = transformers.Gemma2Config(
            head_dim=16, query_pre_attn_scalar=32, attn_logit_softcapping=0.5,
            final_logit_softcapping=3.0, sliding_window=12, **common)
        model = transformers.Gemma2ForCausalLM(config)
    elif family == "gpt_neox":
        config = transformers.GPTNeoXConfig(
            vocab_size=96, hidden_size=64, intermediate_size=256, num_hidden_layers=2,
            num_attention_heads=4, max_position_embeddings=64, rotary_pct=0.5)
        model = transformers.GPTNeoXForCausalLM(config)
    elif family == "gpt_neox_sequential":
        config = transformers.GPTNeoXConfig(
            vocab_size=96, hidden_size=64, intermediate_size=256, num_hidden_layers=2,
            num_attention_heads=4, max_position_embeddings=64, rotary_pct=0.5,
            use_parallel_residual=False)
        model = transformers.GPTNeoXForCausalLM(config)
    elif family == "opt":
        config = transformers.OPTConfig(
            vocab_size=96, hidden_size=64, ffn_dim=256, num_hidden_layers=2,
            num_attention_heads=4, max_position_embeddings=64, word_embed_proj_dim=64)
        model = transformers.OPTForCausalLM(config)
    elif family == "gemma3":
        config = transformers.Gemma3TextConfig(head_dim=16, **common)
        model = transformers.Gemma3ForCausalLM(config)
    model = model.eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            # Visible norms and biases, so that skipping one would show.
            if p.dim() == 1:
                p.copy_(1 + 0.3 * torch.randn_like(p))
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
    config.to_json_file(str(out / "config.json"))
    tokens = [3, 17, 42, 5, 88, 23, 61, 9, 14, 70]
    with torch.no_grad():
        logits = model.double()(torch.tensor([tokens])).logits[0]
    (out / "logits.f32").write_bytes(logits.numpy().astype("<f4").tobytes())
    print(json.dumps(tokens))
    """#

  /// The token ids the logits are computed for.
  public static let tokens = [3, 17, 42, 5, 88, 23, 61, 9, 14, 70]

  /// Makes `family`'s tiny model (`mistral`, `qwen2`, `qwen3`, `gemma`, `gemma2`, `gemma3`,
  /// `gpt_neox`, `gpt_neox_sequential` (`use_parallel_residual` false), `opt`) in
  /// `directory`: `config.json`, `model.safetensors` and `logits.f32`; returns its folder.
  public static func make(_ family: String, in directory: TemporaryDirectory) throws -> String {
    let folder = directory.file(family)
    _ = try PythonOracle.check(maker, arguments: [family, folder])
    return folder
  }
}
