/// A model family emoe-pack knows: how to recognise it and where its FFN tensors are.
///
/// The registered families are the entries of ``registry`` (ModelFamily+Registry.swift); adding
/// one is adding one entry there.
public struct ModelFamily: Sendable, Hashable, CustomStringConvertible {
  /// A short identifier (`bert`, `llama`, `gguf-llama`, `custom`).
  public var name: String
  /// The name shown to users.
  public var displayName: String
  /// config.json `model_type` values of this family.
  public var modelTypes: [String]
  /// config.json `architectures` class-name stems: `Llama` matches `LlamaForCausalLM` and
  /// `LlamaModel` (the stem followed by `For`, `Model` or `LMHead`).
  public var classStems: [String]
  /// GGUF `general.architecture` values of this family.
  public var ggufArchitectures: [String]
  /// Where the FFN tensors are.
  public var ffn: FFNPattern
  /// The activation when config.json does not name one.
  public var defaultActivation: FFNActivation
  /// config.json keys naming the activation, tried in order.
  public var activationKeys: [String]
  /// config.json activation values this family reads differently from their usual meaning
  /// (Gemma's legacy `gelu` is the tanh approximation, as transformers' GemmaConfig says).
  public var activationAliases: [String: FFNActivation]
  /// config.json keys holding the number of layers, tried in order.
  public var layerCountKeys: [String]
  /// Which of the paper's default settings applies (see ``ConversionDefaults``).
  public var scale: ModelScale

  /// Creates a family.
  public init(
    name: String, displayName: String, modelTypes: [String] = [], classStems: [String] = [],
    ggufArchitectures: [String] = [], ffn: FFNPattern, defaultActivation: FFNActivation,
    activationKeys: [String] = ["hidden_act", "activation_function"],
    activationAliases: [String: FFNActivation] = [:],
    layerCountKeys: [String] = ["num_hidden_layers", "n_layer"], scale: ModelScale
  ) {
    self.name = name
    self.displayName = displayName
    self.modelTypes = modelTypes
    self.classStems = classStems
    self.ggufArchitectures = ggufArchitectures
    self.ffn = ffn
    self.defaultActivation = defaultActivation
    self.activationKeys = activationKeys
    self.activationAliases = activationAliases
    self.layerCountKeys = layerCountKeys
    self.scale = scale
  }

  /// The family of a user's `--ffn-pattern`: no detection keys, defaults from the pattern's form
  /// (GLU: SiLU and LLaMA-sized defaults; plain: GELU and BERT-sized defaults).
  public static func custom(_ pattern: FFNPattern) -> ModelFamily {
    ModelFamily(
      name: "custom", displayName: "custom (--ffn-pattern)", ffn: pattern,
      defaultActivation: pattern.isGLU ? .silu : .gelu, scale: pattern.isGLU ? .decoder : .encoder)
  }

  /// Whether `className` (a config.json `architectures` entry) belongs to this family.
  public func matches(className: String) -> Bool {
    classStems.contains { stem in
      guard className.hasPrefix(stem) else { return false }
      let rest = className.dropFirst(stem.count)
      return rest.isEmpty || rest.hasPrefix("For") || rest.hasPrefix("Model")
        || rest.hasPrefix("LMHead")
    }
  }

  /// The display name.
  public var description: String { displayName }
}

/// The size class that picks the paper's defaults (EMOE.md §6).
public enum ModelScale: String, Sendable, Hashable {
  /// BERT/GPT-2-sized encoders and small decoders with a plain FFN: 16 experts, top-4, the last
  /// two layers.
  case encoder
  /// LLaMA-sized GLU decoders: 64 experts, top-k = E/4, every second layer of the upper half.
  case decoder
}
