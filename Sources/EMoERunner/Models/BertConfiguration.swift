import EMoECore
import EMoENumerics

/// The hyperparameters of a BERT encoder, read from its Hugging Face `config.json`.
public struct BertConfiguration: Sendable, Equatable {
  /// The vocabulary size.
  public var vocabularySize: Int
  /// The hidden size d.
  public var hiddenSize: Int
  /// The number of encoder layers.
  public var layerCount: Int
  /// The number of attention heads.
  public var headCount: Int
  /// The FFN width n.
  public var intermediateSize: Int
  /// The number of learned positions.
  public var maximumPositions: Int
  /// The number of token types.
  public var typeVocabularySize: Int
  /// The LayerNorm ε.
  public var layerNormEpsilon: Float
  /// The FFN activation.
  public var activation: Activation

  /// Creates a configuration.
  public init(
    vocabularySize: Int, hiddenSize: Int, layerCount: Int, headCount: Int,
    intermediateSize: Int, maximumPositions: Int, typeVocabularySize: Int = 2,
    layerNormEpsilon: Float = 1e-12, activation: Activation = .geluErf
  ) {
    self.vocabularySize = vocabularySize
    self.hiddenSize = hiddenSize
    self.layerCount = layerCount
    self.headCount = headCount
    self.intermediateSize = intermediateSize
    self.maximumPositions = maximumPositions
    self.typeVocabularySize = typeVocabularySize
    self.layerNormEpsilon = layerNormEpsilon
    self.activation = activation
  }

  /// Reads `config.json` values (`hidden_size`, `num_hidden_layers`, …).
  ///
  /// - Throws: ``RunnerError`` naming the first missing or invalid key.
  public init(config: JSONValue, file: String) throws(RunnerError) {
    func integer(_ key: String, default value: Int? = nil) throws(RunnerError) -> Int {
      if let found = config[key]?.intValue, found > 0 { return found }
      if config[key] == nil, let value { return value }
      throw RunnerError("config.json needs a positive integer", file: file, key: key)
    }
    let activationName = config["hidden_act"]?.stringValue ?? "gelu"
    guard let activation = Activation(huggingFaceName: activationName) else {
      throw RunnerError(
        "activation '\(activationName)' is not supported", file: file, key: "hidden_act")
    }
    if let type = config["position_embedding_type"]?.stringValue, type != "absolute" {
      throw RunnerError(
        "only absolute position embeddings are supported, not '\(type)'", file: file,
        key: "position_embedding_type")
    }
    self.init(
      vocabularySize: try integer("vocab_size"), hiddenSize: try integer("hidden_size"),
      layerCount: try integer("num_hidden_layers"), headCount: try integer("num_attention_heads"),
      intermediateSize: try integer("intermediate_size"),
      maximumPositions: try integer("max_position_embeddings"),
      typeVocabularySize: try integer("type_vocab_size", default: 2),
      layerNormEpsilon: Float(config["layer_norm_eps"]?.doubleValue ?? 1e-12),
      activation: activation)
    guard hiddenSize % headCount == 0 else {
      throw RunnerError(
        "hidden_size \(hiddenSize) is not a multiple of num_attention_heads \(headCount)",
        file: file, key: "num_attention_heads")
    }
    // The values come from a file and size every weight and buffer: no product may trap.
    for (key, count) in [
      ("vocab_size", vocabularySize), ("intermediate_size", intermediateSize),
      ("max_position_embeddings", maximumPositions), ("type_vocab_size", typeVocabularySize),
    ] where count.multipliedReportingOverflow(by: hiddenSize).overflow {
      throw RunnerError(
        "\(key) x hidden_size (\(count) x \(hiddenSize)) overflows", file: file, key: key)
    }
  }
}
