import EMoECore
import EMoEFormats
import EMoENumerics

/// A GPT-NeoX (Pythia) decoder run in F32 over one sequence of token ids, for comparing a
/// source model with its EMoE form.
///
/// Token embedding (`embed_in`), then per layer: LayerNorm, attention through the fused
/// `query_key_value` projection with partial rotary embeddings on each head's first
/// `rotary_pct` share, the output projection; LayerNorm, the plain GELU FFN with biases; either
/// both added to the layer input at once (`use_parallel_residual`) or one after the other. A
/// final LayerNorm and `embed_out` (`lm_head` as transformers 5 saves it). Reads Hugging Face safetensors with `config.json`,
/// computing what transformers' GPTNeoXForCausalLM does. Any layer's FFN can be replaced.
public struct GPTNeoXDecoder: Sendable {
  typealias Layer = LayerNormDecoderLayer

  /// The hyperparameters.
  public let configuration: GPTNeoXConfiguration
  let embedding: [Float]
  let layers: [Layer]
  let finalNormWeight: [Float]
  let finalNormBias: [Float]
  /// `nil` when tied to the embedding.
  let outputProjection: [Float]?

  /// Loads every weight as F32 from a Hugging Face GPT-NeoX checkpoint with its `config.json`.
  ///
  /// - Throws: ``RunnerError`` when the configuration is missing or unsupported, or a tensor is
  ///   missing, has the wrong shape or cannot be decoded.
  public init(source: any ModelSource) throws(RunnerError) {
    guard let json = source.config else {
      throw RunnerError(
        "a GPT-NeoX checkpoint needs its config.json beside the weights", file: source.path)
    }
    let config = try GPTNeoXConfiguration(config: json, file: source.path)
    configuration = config
    let reader = WeightReader(source)
    let d = config.hiddenSize
    let n = config.intermediateSize
    let hd = config.headDimension
    embedding = try reader.floats("gpt_neox.embed_in.weight", shape: [config.vocabularySize, d])
    finalNormWeight = try reader.floats("gpt_neox.final_layer_norm.weight", shape: [d])
    finalNormBias = try reader.floats("gpt_neox.final_layer_norm.bias", shape: [d])
    // Pythia's checkpoints name the head `embed_out`; transformers 5 saves it as `lm_head`.
    let headName = reader.has("embed_out.weight") ? "embed_out.weight" : "lm_head.weight"
    outputProjection =
      config.tiedEmbeddings ? nil : try reader.floats(headName, shape: [config.vocabularySize, d])
    var layers: [Layer] = []
    for index in 0..<config.layerCount {
      let p = "gpt_neox.layers.\(index)."
      func read(_ name: String, _ shape: [Int]) throws(RunnerError) -> [Float] {
        try reader.floats(p + name, shape: shape)
      }
      let fused = try read("attention.query_key_value.weight", [3 * d, d])
      let fusedBias =
        config.attentionBias ? try read("attention.query_key_value.bias", [3 * d]) : nil
      // transformers views the fused output as [heads, 3 · hd] and chunks each head into its
      // query, key and value: row (h · 3 + part) · hd + i of the weight is part's row h · hd + i.
      func part(_ values: [Float], _ part: Int, columns: Int) -> [Float] {
        var rows: [Float] = []
        rows.reserveCapacity(d * columns)
        for head in 0..<config.headCount {
          let start = ((head * 3 + part) * hd) * columns
          rows += values[start..<(start + hd * columns)]
        }
        return rows
      }
      let up = try LinearWeights(
        values: read("mlp.dense_h_to_4h.weight", [n, d]), inputs: d, outputs: n)
      let down = try LinearWeights(
        values: read("mlp.dense_4h_to_h.weight", [d, n]), inputs: n, outputs: d)
      layers.append(
        Layer(
          attentionNormWeight: try read("input_layernorm.weight", [d]),
          attentionNormBias: try read("input_layernorm.bias", [d]),
          query: part(fused, 0, columns: d), queryBias: fusedBias.map { part($0, 0, columns: 1) },
          key: part(fused, 1, columns: d), keyBias: fusedBias.map { part($0, 1, columns: 1) },
          value: part(fused, 2, columns: d), valueBias: fusedBias.map { part($0, 2, columns: 1) },
          output: try read("attention.dense.weight", [d, d]),
          outputBias: config.attentionBias ? try read("attention.dense.bias", [d]) : nil,
          feedForwardNormWeight: try read("post_attention_layernorm.weight", [d]),
          feedForwardNormBias: try read("post_attention_layernorm.bias", [d]),
          feedForward: try DenseFFN(
            form: .plain, activation: .geluErf, up: up, down: down,
            upBias: try read("mlp.dense_h_to_4h.bias", [n]),
            downBias: try read("mlp.dense_4h_to_h.bias", [d]))))
    }
    self.layers = layers
  }

  /// The source FFN of layer `layer` (0-based).
  public func feedForward(layer: Int) -> DenseFFN { layers[layer].feedForward }

  /// Runs the decoder over `tokens` (one sequence, positions 0..<count).
  ///
  /// - Parameters:
  ///   - tokens: the token ids.
  ///   - replacing: FFNs to use instead of the source's, by layer index.
  /// - Returns: the hidden states after the final LayerNorm, `[tokens, hiddenSize]`, and the
  ///   logits, `[tokens, vocabularySize]`.
  /// - Throws: ``RunnerError`` for an empty sequence, a token id out of range, or a replacement
  ///   of the wrong hidden size; any error a replacement FFN throws.
  public func decode(tokens: [Int], replacing: [Int: any FeedForwardBlock] = [:]) throws -> (
    hiddenStates: [Float], logits: [Float]
  ) {
    let config = configuration
    let d = config.hiddenSize
    let count = tokens.count
    guard count > 0 else { throw RunnerError("no tokens to run") }
    for token in tokens where !(0..<config.vocabularySize).contains(token) {
      throw RunnerError("token id \(token) is outside the vocabulary of \(config.vocabularySize)")
    }
    for (layer, block) in replacing {
      guard (0..<config.layerCount).contains(layer), block.hiddenSize == d else {
        throw RunnerError("the FFN for layer \(layer) does not fit this \(d)-wide model")
      }
    }
    let hidden = FloatBuffer(count: count * d)
    for (position, token) in tokens.enumerated() {
      embedding.withUnsafeBufferPointer { e in
        (hidden.pointer + position * d).update(from: e.baseAddress! + token * d, count: d)
      }
    }
    let normed = FloatBuffer(count: count * d)
    let q = FloatBuffer(count: count * d)
    let k = FloatBuffer(count: count * d)
    let v = FloatBuffer(count: count * d)
    let context = FloatBuffer(count: count * d)
    let attended = FloatBuffer(count: count * d)
    let update = FloatBuffer(count: count * d)
    let tables = TransformerMath.ropeTables(
      tokens: count, headDimension: config.rotaryDimension, theta: config.ropeTheta)
    for (index, layer) in layers.enumerated() {
      normed.pointer.update(from: hidden.pointer, count: count * d)
      TransformerMath.layerNorm(
        normed.pointer, rows: count, columns: d, weight: layer.attentionNormWeight,
        bias: layer.attentionNormBias, epsilon: config.layerNormEpsilon)
      for (weight, bias, target) in [
        (layer.query, layer.queryBias, q), (layer.key, layer.keyBias, k),
        (layer.value, layer.valueBias, v),
      ] {
        TransformerMath.linear(
          normed.pointer, rows: count, weight: weight, bias: bias, inputs: d, outputs: d,
          into: target.pointer)
      }
      for target in [q, k] {
        TransformerMath.applyRope(
          target.pointer, tokens: count, heads: config.headCount,
          headDimension: config.headDimension, rotaryDimension: config.rotaryDimension,
          tables: tables)
      }
      TransformerMath.attention(
        q: q.pointer, k: k.pointer, v: v.pointer, tokens: count, heads: config.headCount,
        kvHeads: config.headCount, headDimension: config.headDimension, causal: true,
        into: context.pointer)
      TransformerMath.linear(
        context.pointer, rows: count, weight: layer.output, bias: layer.outputBias, inputs: d,
        outputs: d, into: attended.pointer)
      // Parallel: the FFN reads the layer input, and both outputs join it at once.
      // Sequential: the FFN reads the input plus the attention output.
      if !config.parallelResidual {
        TransformerMath.addResidual(attended.pointer, to: hidden.pointer, count: count * d)
      }
      normed.pointer.update(from: hidden.pointer, count: count * d)
      TransformerMath.layerNorm(
        normed.pointer, rows: count, columns: d, weight: layer.feedForwardNormWeight,
        bias: layer.feedForwardNormBias, epsilon: config.layerNormEpsilon)
      let block: any FeedForwardBlock = replacing[index] ?? layer.feedForward
      try block.forward(normed.pointer, tokens: count, into: update.pointer)
      if config.parallelResidual {
        TransformerMath.addResidual(attended.pointer, to: update.pointer, count: count * d)
      }
      TransformerMath.addResidual(update.pointer, to: hidden.pointer, count: count * d)
    }
    TransformerMath.layerNorm(
      hidden.pointer, rows: count, columns: d, weight: finalNormWeight, bias: finalNormBias,
      epsilon: config.layerNormEpsilon)
    var logits = [Float](repeating: 0, count: count * config.vocabularySize)
    logits.withUnsafeMutableBufferPointer { out in
      TransformerMath.linear(
        hidden.pointer, rows: count, weight: outputProjection ?? embedding, bias: nil,
        inputs: d, outputs: config.vocabularySize, into: out.baseAddress!)
    }
    return (hidden.array, logits)
  }
}
