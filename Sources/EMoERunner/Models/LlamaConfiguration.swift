import EMoECore
import EMoEFormats
import EMoENumerics

/// The hyperparameters of a LLaMA-family decoder, read from a Hugging Face `config.json` or
/// from GGUF `llama.*` metadata.
public struct LlamaConfiguration: Sendable, Equatable {
  /// The vocabulary size.
  public var vocabularySize: Int
  /// The hidden size d.
  public var hiddenSize: Int
  /// The number of decoder layers.
  public var layerCount: Int
  /// The number of query heads.
  public var headCount: Int
  /// The number of key/value heads (grouped-query attention when fewer than ``headCount``).
  public var keyValueHeadCount: Int
  /// The size of one head.
  public var headDimension: Int
  /// The FFN width n.
  public var intermediateSize: Int
  /// The RMSNorm ε.
  public var rmsNormEpsilon: Float
  /// The rotary base θ.
  public var ropeTheta: Float
  /// Whether the output projection is the token embedding.
  public var tiedEmbeddings: Bool
  /// The GLU gate activation.
  public var activation: Activation
  /// Whether each head's queries and keys pass through an RMSNorm before the rotary embedding
  /// (Qwen3's `q_norm` and `k_norm`).
  public var queryKeyNorm: Bool
  /// Mistral's sliding attention window: sequences longer than it are refused, since the
  /// runner attends to every earlier position.
  public var slidingWindow: Int?
  /// Gemma's and Gemma 2's differences, or `nil` for the LLaMA computation.
  public var gemma: GemmaOptions?

  /// The `model_type` values whose decoders this runner computes exactly.
  ///
  /// Each is checked against PyTorch (Tests/EMoERunnerTests). Other families that share
  /// LLaMA's tensor names (Gemma 3's local and global rotary bases, Phi-3's fused projections,
  /// …) compute something else, so they are refused rather than approximated.
  public static let supportedModelTypes = ["llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2"]

  /// Creates a configuration.
  public init(
    vocabularySize: Int, hiddenSize: Int, layerCount: Int, headCount: Int,
    keyValueHeadCount: Int, headDimension: Int, intermediateSize: Int, rmsNormEpsilon: Float,
    ropeTheta: Float, tiedEmbeddings: Bool, activation: Activation = .silu,
    queryKeyNorm: Bool = false, slidingWindow: Int? = nil, gemma: GemmaOptions? = nil
  ) {
    self.vocabularySize = vocabularySize
    self.hiddenSize = hiddenSize
    self.layerCount = layerCount
    self.headCount = headCount
    self.keyValueHeadCount = keyValueHeadCount
    self.headDimension = headDimension
    self.intermediateSize = intermediateSize
    self.rmsNormEpsilon = rmsNormEpsilon
    self.ropeTheta = ropeTheta
    self.tiedEmbeddings = tiedEmbeddings
    self.activation = activation
    self.queryKeyNorm = queryKeyNorm
    self.slidingWindow = slidingWindow
    self.gemma = gemma
  }

  /// Reads a Hugging Face `config.json` (LlamaConfig keys).
  ///
  /// - Throws: ``RunnerError`` naming the first missing or unsupported key, or a `model_type`
  ///   outside ``supportedModelTypes``.
  public init(config: JSONValue, file: String) throws(RunnerError) {
    let modelType = config["model_type"]?.stringValue
    if let modelType, !Self.supportedModelTypes.contains(modelType) {
      throw RunnerError(
        "model_type '\(modelType)' has no whole-model runner here: it computes "
          + Self.supportedModelTypes.joined(separator: ", ")
          + " decoders, and another family with the same tensor names would give wrong logits",
        file: file, key: "model_type")
    }
    if config["use_sliding_window"]?.boolValue == true {
      throw RunnerError(
        "sliding-window attention in some layers is not supported", file: file,
        key: "use_sliding_window")
    }
    func integer(_ key: String, default value: Int? = nil) throws(RunnerError) -> Int {
      if let found = config[key]?.intValue, found > 0 { return found }
      if config[key] == nil || config[key] == .null, let value { return value }
      throw RunnerError("config.json needs a positive integer", file: file, key: key)
    }
    let isGemma = modelType == "gemma" || modelType == "gemma2"
    // Gemma 2 names the FFN activation `hidden_activation`; Gemma's legacy `gelu` means the
    // tanh approximation, as transformers' GemmaConfig rewrites it.
    let activationKey = modelType == "gemma2" ? "hidden_activation" : "hidden_act"
    var activationName =
      config[activationKey]?.stringValue ?? (isGemma ? "gelu_pytorch_tanh" : "silu")
    if modelType == "gemma", activationName == "gelu" { activationName = "gelu_pytorch_tanh" }
    guard let activation = Activation(huggingFaceName: activationName) else {
      throw RunnerError(
        "activation '\(activationName)' is not supported", file: file, key: activationKey)
    }
    for key in ["rope_scaling", "rope_parameters"] {
      if let type = config[key]?["rope_type"]?.stringValue ?? config[key]?["type"]?.stringValue,
        type != "default"
      {
        throw RunnerError("rope scaling '\(type)' is not supported", file: file, key: key)
      }
    }
    let hidden = try integer("hidden_size")
    let heads = try integer("num_attention_heads")
    let theta =
      config["rope_theta"]?.doubleValue ?? config["rope_parameters"]?["rope_theta"]?.doubleValue
      ?? 10000
    self.init(
      vocabularySize: try integer("vocab_size"), hiddenSize: hidden,
      layerCount: try integer("num_hidden_layers"), headCount: heads,
      keyValueHeadCount: try integer("num_key_value_heads", default: heads),
      headDimension: try integer("head_dim", default: hidden / heads),
      intermediateSize: try integer("intermediate_size"),
      rmsNormEpsilon: Float(config["rms_norm_eps"]?.doubleValue ?? 1e-6), ropeTheta: Float(theta),
      tiedEmbeddings: config["tie_word_embeddings"]?.boolValue ?? false, activation: activation,
      queryKeyNorm: modelType == "qwen3",
      slidingWindow: ["mistral", "gemma2"].contains(modelType)
        ? config["sliding_window"]?.intValue : nil,
      gemma: isGemma
        ? try Self.gemmaOptions(config, gemma2: modelType == "gemma2", file: file) : nil)
    try validate(file: file)
  }

  /// Reads GGUF metadata of architecture `llama` (`llama.embedding_length`, …); the vocabulary
  /// size comes from `token_embd.weight` and tying from the absence of `output.weight`.
  ///
  /// - Throws: ``RunnerError`` naming the first missing or unsupported key.
  public init(gguf pairs: [(key: String, value: GGUFValue)], tensors: [TensorInfo], file: String)
    throws(RunnerError)
  {
    func value(_ key: String) -> GGUFValue? { pairs.first { $0.key == key }?.value }
    let architecture = value("general.architecture")?.stringValue ?? ""
    guard architecture == "llama" else {
      throw RunnerError(
        "GGUF architecture '\(architecture)' is not llama", file: file,
        key: "general.architecture")
    }
    func integer(_ key: String, default fallback: Int? = nil) throws(RunnerError) -> Int {
      if let found = value("llama." + key)?.intValue, found > 0 { return found }
      if value("llama." + key) == nil, let fallback { return fallback }
      throw RunnerError("needs a positive integer", file: file, key: "llama." + key)
    }
    func real(_ key: String, default fallback: Float) -> Float {
      switch value("llama." + key) {
      case .float32(let found): found
      case .float64(let found): Float(found)
      default: fallback
      }
    }
    if let scaling = value("llama.rope.scaling.type")?.stringValue, scaling != "none" {
      throw RunnerError(
        "rope scaling '\(scaling)' is not supported", file: file, key: "llama.rope.scaling.type")
    }
    guard let embedding = tensors.first(where: { $0.name == "token_embd.weight" }),
      embedding.shape.rank == 2
    else { throw RunnerError("the model has no 2-D token_embd.weight", file: file) }
    let hidden = try integer("embedding_length")
    let heads = try integer("attention.head_count")
    let headDimension = try integer("attention.key_length", default: hidden / heads)
    self.init(
      vocabularySize: embedding.shape[0], hiddenSize: hidden,
      layerCount: try integer("block_count"), headCount: heads,
      keyValueHeadCount: try integer("attention.head_count_kv", default: heads),
      headDimension: headDimension, intermediateSize: try integer("feed_forward_length"),
      rmsNormEpsilon: real("attention.layer_norm_rms_epsilon", default: 1e-5),
      ropeTheta: real("rope.freq_base", default: 10000),
      tiedEmbeddings: !tensors.contains { $0.name == "output.weight" })
    let rotary = try integer("rope.dimension_count", default: headDimension)
    guard rotary == headDimension else {
      throw RunnerError(
        "partial rotary embeddings (\(rotary) of \(headDimension)) are not supported",
        file: file, key: "llama.rope.dimension_count")
    }
    try validate(file: file)
  }

  /// Reads Gemma 2's query scale and soft caps (Gemma has none of them).
  private static func gemmaOptions(_ config: JSONValue, gemma2: Bool, file: String)
    throws(RunnerError) -> GemmaOptions
  {
    guard gemma2 else { return GemmaOptions(sandwichNorms: false) }
    func positive(_ key: String) throws(RunnerError) -> Float? {
      guard let value = config[key], value != .null else { return nil }
      guard let number = value.doubleValue, number > 0, number.isFinite else {
        throw RunnerError("needs a positive number or null", file: file, key: key)
      }
      return Float(number)
    }
    let scalar = try positive("query_pre_attn_scalar") ?? 256
    return GemmaOptions(
      sandwichNorms: true, attentionScale: 1 / scalar.squareRoot(),
      attentionSoftcap: try positive("attn_logit_softcapping"),
      finalSoftcap: try positive("final_logit_softcapping"))
  }

  private func validate(file: String) throws(RunnerError) {
    // The values come from a file and size every weight and buffer: no product may trap.
    let products = [
      ("attention heads x head size", headCount, headDimension),
      ("key/value heads x head size", keyValueHeadCount, headDimension),
      ("vocabulary x hidden size", vocabularySize, hiddenSize),
      ("intermediate x hidden size", intermediateSize, hiddenSize),
    ]
    for (what, a, b) in products where a.multipliedReportingOverflow(by: b).overflow {
      throw RunnerError("\(what) (\(a) x \(b)) overflows", file: file)
    }
    guard headCount % keyValueHeadCount == 0 else {
      throw RunnerError(
        "\(headCount) query heads are not a multiple of \(keyValueHeadCount) key/value heads",
        file: file)
    }
    guard headDimension % 2 == 0 else {
      throw RunnerError(
        "the head size \(headDimension) is odd; rotary pairs need it even", file: file)
    }
  }
}
