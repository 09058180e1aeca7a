/// The registered families. To support a new family, add one entry to ``ModelFamily/registry``:
/// its detection keys, its FFN name templates (`{L}` = layer number), the storage layout, and
/// the default activation.
extension ModelFamily {
  /// Every registered family, in detection order (the first whose tensors match wins when only
  /// tensor names are known).
  public static let registry: [ModelFamily] = [
    ModelFamily(
      name: "bert", displayName: "BERT", modelTypes: ["bert"], classStems: ["Bert"],
      ffn: bertFFN, defaultActivation: .gelu, scale: .encoder),
    ModelFamily(
      name: "roberta", displayName: "RoBERTa", modelTypes: ["roberta", "xlm-roberta"],
      classStems: ["Roberta", "XLMRoberta"], ffn: bertFFN, defaultActivation: .gelu,
      scale: .encoder),
    ModelFamily(
      name: "vit", displayName: "ViT", modelTypes: ["vit"], classStems: ["ViT"], ffn: bertFFN,
      defaultActivation: .gelu, scale: .encoder),
    ModelFamily(
      name: "gpt2", displayName: "GPT-2", modelTypes: ["gpt2"], classStems: ["GPT2"],
      ffn: .plain(
        w1: "h.{L}.mlp.c_fc.weight", b1: "h.{L}.mlp.c_fc.bias", w2: "h.{L}.mlp.c_proj.weight",
        b2: "h.{L}.mlp.c_proj.bias", transposed: true),
      defaultActivation: .geluTanh, scale: .encoder),
    ModelFamily(
      name: "llama", displayName: "LLaMA", modelTypes: ["llama"], classStems: ["Llama"],
      ffn: llamaFFN, defaultActivation: .silu, scale: .decoder),
    ModelFamily(
      name: "mistral", displayName: "Mistral", modelTypes: ["mistral"], classStems: ["Mistral"],
      ffn: llamaFFN, defaultActivation: .silu, scale: .decoder),
    ModelFamily(
      name: "qwen2", displayName: "Qwen2", modelTypes: ["qwen2"], classStems: ["Qwen2"],
      ffn: llamaFFN, defaultActivation: .silu, scale: .decoder),
    ModelFamily(
      name: "qwen3", displayName: "Qwen3", modelTypes: ["qwen3"], classStems: ["Qwen3"],
      ffn: llamaFFN, defaultActivation: .silu, scale: .decoder),
    ModelFamily(
      name: "gpt-neox", displayName: "GPT-NeoX", modelTypes: ["gpt_neox"],
      classStems: ["GPTNeoX"],
      ffn: .plain(
        w1: "gpt_neox.layers.{L}.mlp.dense_h_to_4h.weight",
        b1: "gpt_neox.layers.{L}.mlp.dense_h_to_4h.bias",
        w2: "gpt_neox.layers.{L}.mlp.dense_4h_to_h.weight",
        b2: "gpt_neox.layers.{L}.mlp.dense_4h_to_h.bias"),
      defaultActivation: .gelu, scale: .encoder),
    ModelFamily(
      name: "opt", displayName: "OPT", modelTypes: ["opt"], classStems: ["OPT"],
      ffn: .plain(
        w1: "decoder.layers.{L}.fc1.weight", b1: "decoder.layers.{L}.fc1.bias",
        w2: "decoder.layers.{L}.fc2.weight", b2: "decoder.layers.{L}.fc2.bias"),
      defaultActivation: .relu, scale: .encoder),
    ModelFamily(
      name: "gemma", displayName: "Gemma", modelTypes: ["gemma"], classStems: ["Gemma"],
      ffn: llamaFFN, defaultActivation: .geluTanh, activationKeys: ["hidden_act"],
      activationAliases: ["gelu": .geluTanh], scale: .decoder),
    ModelFamily(
      name: "gemma2", displayName: "Gemma 2", modelTypes: ["gemma2"], classStems: ["Gemma2"],
      ffn: llamaFFN, defaultActivation: .geluTanh, activationKeys: ["hidden_activation"],
      scale: .decoder),
    ModelFamily(
      name: "gemma3", displayName: "Gemma 3", modelTypes: ["gemma3_text"],
      classStems: ["Gemma3"], ffn: llamaFFN, defaultActivation: .geluTanh,
      activationKeys: ["hidden_activation"], scale: .decoder),
    ModelFamily(
      name: "gguf-gemma", displayName: "Gemma-family GGUF",
      ggufArchitectures: ["gemma", "gemma2", "gemma3"],
      ffn: .glu(
        gate: "blk.{L}.ffn_gate.weight", up: "blk.{L}.ffn_up.weight",
        down: "blk.{L}.ffn_down.weight"),
      defaultActivation: .geluTanh, scale: .decoder),
    ModelFamily(
      name: "gguf-llama", displayName: "llama-family GGUF",
      ggufArchitectures: ["llama", "mistral", "qwen2", "qwen3"],
      ffn: .glu(
        gate: "blk.{L}.ffn_gate.weight", up: "blk.{L}.ffn_up.weight",
        down: "blk.{L}.ffn_down.weight"),
      defaultActivation: .silu, scale: .decoder),
  ]

  /// The registered family named `name`, or `nil`.
  public static func named(_ name: String) -> ModelFamily? {
    registry.first { $0.name == name }
  }

  /// BERT-style encoder layers (BERT, RoBERTa, ViT share it).
  private static let bertFFN = FFNPattern.plain(
    w1: "encoder.layer.{L}.intermediate.dense.weight",
    b1: "encoder.layer.{L}.intermediate.dense.bias",
    w2: "encoder.layer.{L}.output.dense.weight", b2: "encoder.layer.{L}.output.dense.bias")

  /// LLaMA-style GLU layers (LLaMA, Mistral, Qwen2, Qwen3 share it).
  private static let llamaFFN = FFNPattern.glu(
    gate: "model.layers.{L}.mlp.gate_proj.weight", up: "model.layers.{L}.mlp.up_proj.weight",
    down: "model.layers.{L}.mlp.down_proj.weight")
}
