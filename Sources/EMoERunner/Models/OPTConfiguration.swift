import EMoECore

/// The hyperparameters of an OPT decoder, read from its Hugging Face `config.json`.
public struct OPTConfiguration: Sendable, Equatable {
  /// The vocabulary size.
  public var vocabularySize: Int
  /// The hidden size d.
  public var hiddenSize: Int
  /// The number of decoder layers.
  public var layerCount: Int
  /// The number of attention heads.
  public var headCount: Int
  /// The FFN width n (`ffn_dim`).
  public var intermediateSize: Int
  /// The number of learned positions (the table has two more rows: OPT's offset).
  public var maximumPositions: Int
  /// Whether the linear maps have biases (`enable_bias`).
  public var biases: Bool
  /// Whether the LayerNorms have a weight and a bias (`layer_norm_elementwise_affine`).
  public var normAffine: Bool
  /// Whether the output projection is the token embedding.
  public var tiedEmbeddings: Bool

  /// OPT's LayerNorm ε: PyTorch's default, which OPTDecoderLayer does not override.
  public static let layerNormEpsilon: Float = 1e-5
  /// The rows of the position table before position 0 (transformers'
  /// `OPTLearnedPositionalEmbedding.offset`).
  public static let positionOffset = 2

  /// The size of one head.
  public var headDimension: Int { hiddenSize / headCount }

  /// Reads `config.json` as transformers' OPTConfig does.
  ///
  /// - Throws: ``RunnerError`` naming the first missing or unsupported key: a `model_type`
  ///   other than `opt`, an activation other than `relu` (the registry converts the FFN with
  ///   ReLU), post-LayerNorm layers (`do_layer_norm_before` false, as in OPT-350m), a removed
  ///   final LayerNorm, or `word_embed_proj_dim` ≠ `hidden_size` (the `project_in`/`project_out`
  ///   maps are not computed).
  public init(config: JSONValue, file: String) throws(RunnerError) {
    if let modelType = config["model_type"]?.stringValue, modelType != "opt" {
      throw RunnerError(
        "model_type '\(modelType)' is not an OPT decoder", file: file, key: "model_type")
    }
    let keys = ConfigKeyReader(config: config, file: file)
    func integer(_ key: String) throws(RunnerError) -> Int { try keys.positiveInteger(key) }
    func flag(_ key: String, default value: Bool) throws(RunnerError) -> Bool {
      try keys.flag(key, default: value)
    }
    let activation = config["activation_function"]?.stringValue ?? "relu"
    guard activation == "relu" else {
      throw RunnerError(
        "activation '\(activation)' is not supported for OPT; only 'relu' (as the FFN is "
          + "converted)", file: file, key: "activation_function")
    }
    guard try flag("do_layer_norm_before", default: true) else {
      throw RunnerError(
        "post-LayerNorm OPT layers (OPT-350m's layout) are not computed", file: file,
        key: "do_layer_norm_before")
    }
    guard try !flag("_remove_final_layer_norm", default: false) else {
      throw RunnerError(
        "an OPT decoder without its final LayerNorm is not computed", file: file,
        key: "_remove_final_layer_norm")
    }
    vocabularySize = try integer("vocab_size")
    hiddenSize = try integer("hidden_size")
    layerCount = try integer("num_hidden_layers")
    headCount = try integer("num_attention_heads")
    intermediateSize = try integer("ffn_dim")
    maximumPositions = try integer("max_position_embeddings")
    biases = try flag("enable_bias", default: true)
    normAffine = try flag("layer_norm_elementwise_affine", default: true)
    tiedEmbeddings = try flag("tie_word_embeddings", default: true)
    if let projection = config["word_embed_proj_dim"]?.intValue, projection != hiddenSize {
      throw RunnerError(
        "word_embed_proj_dim \(projection) differs from hidden_size \(hiddenSize): the "
          + "project_in/project_out maps are not computed", file: file, key: "word_embed_proj_dim")
    }
    guard hiddenSize % headCount == 0 else {
      throw RunnerError(
        "hidden_size \(hiddenSize) is not a multiple of num_attention_heads \(headCount)",
        file: file, key: "num_attention_heads")
    }
    // The values come from a file and size every weight and buffer: no product may trap.
    for (key, count) in [
      ("vocab_size", vocabularySize), ("ffn_dim", intermediateSize),
      ("max_position_embeddings", maximumPositions), ("hidden_size", hiddenSize),
    ]
    where count.addingReportingOverflow(Self.positionOffset).overflow
      || (count + Self.positionOffset).multipliedReportingOverflow(by: hiddenSize).overflow
    {
      throw RunnerError(
        "\(key) x hidden_size (\(count) x \(hiddenSize)) overflows", file: file, key: key)
    }
  }
}
