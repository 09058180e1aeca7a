import EMoECore
import EMoEFormats
import EMoENumerics

/// A BERT encoder (BertModel without pooler) run in F32 over one sequence of token ids, for
/// comparing a source model with its EMoE form.
///
/// Embeddings (word + position + token type, LayerNorm), then per layer: multi-head
/// self-attention with biases, output projection, residual and LayerNorm (post-LN), the FFN,
/// residual and LayerNorm. Any layer's FFN can be replaced, e.g. by an ``ExpertFFN``. A
/// BertForMaskedLM checkpoint's head is loaded too (``maskedLMHead``).
public struct BertEncoder: Sendable {
  struct Layer: Sendable {
    var query: [Float]
    var queryBias: [Float]
    var key: [Float]
    var keyBias: [Float]
    var value: [Float]
    var valueBias: [Float]
    var attentionOutput: [Float]
    var attentionOutputBias: [Float]
    var attentionNormWeight: [Float]
    var attentionNormBias: [Float]
    var feedForward: DenseFFN
    var outputNormWeight: [Float]
    var outputNormBias: [Float]
  }

  /// The hyperparameters.
  public let configuration: BertConfiguration
  let wordEmbeddings: [Float]
  let positionEmbeddings: [Float]
  let typeEmbeddings: [Float]
  let embeddingNormWeight: [Float]
  let embeddingNormBias: [Float]
  let layers: [Layer]
  /// The masked-LM head (`cls.predictions`), when the checkpoint has one.
  public let maskedLMHead: BertMaskedLMHead?

  /// Loads every weight of a BERT checkpoint as F32 (names with or without the `bert.` prefix).
  ///
  /// - Parameters:
  ///   - source: the model (safetensors with its `config.json`).
  ///   - configuration: overrides the configuration read from `source.config`.
  /// - Throws: ``RunnerError`` when the configuration is missing or a tensor is missing, has the
  ///   wrong shape or cannot be decoded.
  public init(source: any ModelSource, configuration: BertConfiguration? = nil) throws(RunnerError)
  {
    let config: BertConfiguration
    if let configuration {
      config = configuration
    } else if let json = source.config {
      config = try BertConfiguration(config: json, file: source.path)
    } else {
      throw RunnerError("a BERT model needs its config.json beside the weights", file: source.path)
    }
    self.configuration = config
    let reader = WeightReader(source)
    let prefix = reader.has("bert.embeddings.word_embeddings.weight") ? "bert." : ""
    let d = config.hiddenSize
    let n = config.intermediateSize
    func read(_ name: String, _ shape: [Int]) throws(RunnerError) -> [Float] {
      try reader.floats(prefix + name, shape: shape)
    }
    // Old TensorFlow-converted checkpoints name LayerNorm parameters gamma and beta.
    func normWeight(_ base: String) throws(RunnerError) -> [Float] {
      if let weight = try reader.optionalFloats(prefix + base + ".weight", shape: [d]) {
        return weight
      }
      return try read(base + ".gamma", [d])
    }
    func normBias(_ base: String) throws(RunnerError) -> [Float] {
      if let bias = try reader.optionalFloats(prefix + base + ".bias", shape: [d]) { return bias }
      return try read(base + ".beta", [d])
    }
    wordEmbeddings = try read("embeddings.word_embeddings.weight", [config.vocabularySize, d])
    positionEmbeddings = try read(
      "embeddings.position_embeddings.weight", [config.maximumPositions, d])
    typeEmbeddings = try read(
      "embeddings.token_type_embeddings.weight", [config.typeVocabularySize, d])
    embeddingNormWeight = try normWeight("embeddings.LayerNorm")
    embeddingNormBias = try normBias("embeddings.LayerNorm")
    var layers: [Layer] = []
    for index in 0..<config.layerCount {
      let p = "encoder.layer.\(index)."
      let up = try LinearWeights(
        values: read(p + "intermediate.dense.weight", [n, d]), inputs: d, outputs: n)
      let down = try LinearWeights(
        values: read(p + "output.dense.weight", [d, n]), inputs: n, outputs: d)
      layers.append(
        Layer(
          query: try read(p + "attention.self.query.weight", [d, d]),
          queryBias: try read(p + "attention.self.query.bias", [d]),
          key: try read(p + "attention.self.key.weight", [d, d]),
          keyBias: try read(p + "attention.self.key.bias", [d]),
          value: try read(p + "attention.self.value.weight", [d, d]),
          valueBias: try read(p + "attention.self.value.bias", [d]),
          attentionOutput: try read(p + "attention.output.dense.weight", [d, d]),
          attentionOutputBias: try read(p + "attention.output.dense.bias", [d]),
          attentionNormWeight: try normWeight(p + "attention.output.LayerNorm"),
          attentionNormBias: try normBias(p + "attention.output.LayerNorm"),
          feedForward: try DenseFFN(
            form: .plain, activation: config.activation, up: up, down: down,
            upBias: try read(p + "intermediate.dense.bias", [n]),
            downBias: try read(p + "output.dense.bias", [d])),
          outputNormWeight: try normWeight(p + "output.LayerNorm"),
          outputNormBias: try normBias(p + "output.LayerNorm")))
    }
    self.layers = layers
    maskedLMHead = try BertMaskedLMHead(
      reader: reader, configuration: config, wordEmbeddings: wordEmbeddings)
  }

  /// The source FFN of layer `layer` (0-based).
  public func feedForward(layer: Int) -> DenseFFN { layers[layer].feedForward }

  /// The final hidden states `[tokens.count, hiddenSize]` (BertModel's `last_hidden_state`)
  /// of one unpadded sequence.
  ///
  /// - Parameters:
  ///   - tokens: the token ids.
  ///   - tokenTypes: one token type per token (all 0 when `nil`).
  ///   - replacing: FFNs to use instead of the source's, by layer index.
  /// - Throws: ``RunnerError`` for token ids, types or a length out of range, or a replacement
  ///   of the wrong hidden size; any error a replacement FFN throws.
  public func hiddenStates(
    tokens: [Int], tokenTypes: [Int]? = nil, replacing: [Int: any FeedForwardBlock] = [:]
  ) throws -> [Float] {
    let config = configuration
    let d = config.hiddenSize
    let count = tokens.count
    guard count > 0, count <= config.maximumPositions else {
      throw RunnerError("\(count) tokens; this model takes 1 to \(config.maximumPositions)")
    }
    let types = tokenTypes ?? [Int](repeating: 0, count: count)
    guard types.count == count else {
      throw RunnerError("\(types.count) token types for \(count) tokens")
    }
    for (token, type) in zip(tokens, types) {
      guard (0..<config.vocabularySize).contains(token) else {
        throw RunnerError("token id \(token) is outside the vocabulary of \(config.vocabularySize)")
      }
      guard (0..<config.typeVocabularySize).contains(type) else {
        throw RunnerError("token type \(type) is outside 0..<\(config.typeVocabularySize)")
      }
    }
    for (layer, block) in replacing {
      guard (0..<config.layerCount).contains(layer), block.hiddenSize == d else {
        throw RunnerError("the FFN for layer \(layer) does not fit this \(d)-wide model")
      }
    }
    let hidden = FloatBuffer(count: count * d)
    for position in 0..<count {
      let row = hidden.pointer + position * d
      for column in 0..<d {
        row[column] =
          wordEmbeddings[tokens[position] * d + column]
          + typeEmbeddings[types[position] * d + column]
          + positionEmbeddings[position * d + column]
      }
    }
    TransformerMath.layerNorm(
      hidden.pointer, rows: count, columns: d, weight: embeddingNormWeight,
      bias: embeddingNormBias, epsilon: config.layerNormEpsilon)
    let q = FloatBuffer(count: count * d)
    let k = FloatBuffer(count: count * d)
    let v = FloatBuffer(count: count * d)
    let context = FloatBuffer(count: count * d)
    let projected = FloatBuffer(count: count * d)
    let headDimension = d / config.headCount
    for (index, layer) in layers.enumerated() {
      TransformerMath.linear(
        hidden.pointer, rows: count, weight: layer.query, bias: layer.queryBias, inputs: d,
        outputs: d, into: q.pointer)
      TransformerMath.linear(
        hidden.pointer, rows: count, weight: layer.key, bias: layer.keyBias, inputs: d,
        outputs: d, into: k.pointer)
      TransformerMath.linear(
        hidden.pointer, rows: count, weight: layer.value, bias: layer.valueBias, inputs: d,
        outputs: d, into: v.pointer)
      TransformerMath.attention(
        q: q.pointer, k: k.pointer, v: v.pointer, tokens: count, heads: config.headCount,
        kvHeads: config.headCount, headDimension: headDimension, causal: false,
        into: context.pointer)
      TransformerMath.linear(
        context.pointer, rows: count, weight: layer.attentionOutput,
        bias: layer.attentionOutputBias, inputs: d, outputs: d, into: projected.pointer)
      TransformerMath.addResidual(hidden.pointer, to: projected.pointer, count: count * d)
      TransformerMath.layerNorm(
        projected.pointer, rows: count, columns: d, weight: layer.attentionNormWeight,
        bias: layer.attentionNormBias, epsilon: config.layerNormEpsilon)
      let block: any FeedForwardBlock = replacing[index] ?? layer.feedForward
      try block.forward(projected.pointer, tokens: count, into: hidden.pointer)
      TransformerMath.addResidual(projected.pointer, to: hidden.pointer, count: count * d)
      TransformerMath.layerNorm(
        hidden.pointer, rows: count, columns: d, weight: layer.outputNormWeight,
        bias: layer.outputNormBias, epsilon: config.layerNormEpsilon)
    }
    return hidden.array
  }
}
