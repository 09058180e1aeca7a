import EMoECore

/// The hyperparameters of a GPT-NeoX (Pythia) decoder, read from its Hugging Face
/// `config.json`.
public struct GPTNeoXConfiguration: Sendable, Equatable {
  /// The vocabulary size.
  public var vocabularySize: Int
  /// The hidden size d.
  public var hiddenSize: Int
  /// The number of decoder layers.
  public var layerCount: Int
  /// The number of attention heads (keys and values have as many).
  public var headCount: Int
  /// The FFN width n.
  public var intermediateSize: Int
  /// The LayerNorm ε.
  public var layerNormEpsilon: Float
  /// How many leading values of each head the rotary embedding turns
  /// (`int(head_dim · rotary_pct)`).
  public var rotaryDimension: Int
  /// The rotary base θ.
  public var ropeTheta: Float
  /// Whether attention and FFN both read the layer input and add to it together
  /// (`x + attn(ln1(x)) + mlp(ln2(x))`), rather than one after the other.
  public var parallelResidual: Bool
  /// Whether the output projection is the token embedding.
  public var tiedEmbeddings: Bool
  /// Whether `query_key_value` and the attention output `dense` have biases.
  public var attentionBias: Bool

  /// The size of one head.
  public var headDimension: Int { hiddenSize / headCount }

  /// Reads `config.json` as transformers' GPTNeoXConfig does: `rope_parameters`
  /// (`partial_rotary_factor`, `rope_theta`), or the older `rotary_pct` and `rotary_emb_base`,
  /// with transformers' defaults 0.25 and 10000.
  ///
  /// - Throws: ``RunnerError`` naming the first missing or unsupported key: a `model_type`
  ///   other than `gpt_neox`, an activation other than `gelu` (the registry converts the FFN
  ///   with exact GELU), rope scaling, or an odd number of rotary values.
  public init(config: JSONValue, file: String) throws(RunnerError) {
    if let modelType = config["model_type"]?.stringValue, modelType != "gpt_neox" {
      throw RunnerError(
        "model_type '\(modelType)' is not a GPT-NeoX decoder", file: file, key: "model_type")
    }
    let keys = ConfigKeyReader(config: config, file: file)
    func integer(_ key: String) throws(RunnerError) -> Int { try keys.positiveInteger(key) }
    func flag(_ key: String, default value: Bool) throws(RunnerError) -> Bool {
      try keys.flag(key, default: value)
    }
    let activation = config["hidden_act"]?.stringValue ?? "gelu"
    guard activation == "gelu" else {
      throw RunnerError(
        "activation '\(activation)' is not supported for GPT-NeoX; only 'gelu' (exact GELU, "
          + "as the FFN is converted)", file: file, key: "hidden_act")
    }
    let rope = config["rope_parameters"]
    for key in ["rope_scaling", "rope_parameters"] {
      if let type = config[key]?["rope_type"]?.stringValue ?? config[key]?["type"]?.stringValue,
        type != "default"
      {
        throw RunnerError("rope scaling '\(type)' is not supported", file: file, key: key)
      }
    }
    vocabularySize = try integer("vocab_size")
    hiddenSize = try integer("hidden_size")
    layerCount = try integer("num_hidden_layers")
    headCount = try integer("num_attention_heads")
    intermediateSize = try integer("intermediate_size")
    layerNormEpsilon = Float(config["layer_norm_eps"]?.doubleValue ?? 1e-5)
    ropeTheta = Float(
      rope?["rope_theta"]?.doubleValue ?? config["rotary_emb_base"]?.doubleValue ?? 10000)
    let fraction =
      rope?["partial_rotary_factor"]?.doubleValue ?? config["rotary_pct"]?.doubleValue ?? 0.25
    parallelResidual = try flag("use_parallel_residual", default: true)
    attentionBias = try flag("attention_bias", default: true)
    tiedEmbeddings = try flag("tie_word_embeddings", default: false)
    guard hiddenSize % headCount == 0 else {
      throw RunnerError(
        "hidden_size \(hiddenSize) is not a multiple of num_attention_heads \(headCount)",
        file: file, key: "num_attention_heads")
    }
    guard (0...1).contains(fraction) else {
      throw RunnerError(
        "the rotary fraction \(fraction) is outside 0...1", file: file,
        key: rope?["partial_rotary_factor"] != nil ? "rope_parameters" : "rotary_pct")
    }
    // Python's int() truncates, as transformers computes rotary_ndims.
    rotaryDimension = Int(Double(hiddenSize / headCount) * fraction)
    guard rotaryDimension % 2 == 0 else {
      throw RunnerError(
        "an odd number of rotary values (\(rotaryDimension)) has no rotate-half pairs",
        file: file, key: rope?["partial_rotary_factor"] != nil ? "rope_parameters" : "rotary_pct")
    }
    // The values come from a file and size every weight and buffer: no product may trap.
    for (key, count) in [
      ("vocab_size", vocabularySize), ("intermediate_size", intermediateSize),
      ("hidden_size", hiddenSize),
    ]
    where count.multipliedReportingOverflow(by: hiddenSize).overflow
      || (count * hiddenSize).multipliedReportingOverflow(by: 3).overflow
    {
      throw RunnerError(
        "\(key) x hidden_size (\(count) x \(hiddenSize)) overflows", file: file, key: key)
    }
  }
}
