import EMoECore
import EMoEFormats
import EMoENumerics

/// An OPT decoder run in F32 over one sequence of token ids, for comparing a source model with
/// its EMoE form.
///
/// Token embedding plus a learned position embedding (row position + 2, OPT's offset; the
/// positions are transformers' `cumsum(attention_mask) − 1`, which for one unpadded sequence is
/// 0..<count), then per layer (pre-LayerNorm): LayerNorm, attention with biases and queries
/// scaled by 1/√hd before the product, the output projection, residual; LayerNorm, the plain
/// ReLU FFN (`fc1`/`fc2`) with biases, residual. A final LayerNorm and `lm_head` (normally
/// tied to the embedding). Reads Hugging Face safetensors with `config.json` (tensor names with
/// or without the `model.` prefix), computing what transformers' OPTForCausalLM does. Any
/// layer's FFN can be replaced.
public struct OPTDecoder: Sendable {
  typealias Layer = LayerNormDecoderLayer

  /// The hyperparameters.
  public let configuration: OPTConfiguration
  let embedding: [Float]
  /// `[maximumPositions + 2, d]`, row p + 2 for position p.
  let positions: [Float]
  let layers: [Layer]
  let finalNormWeight: [Float]
  let finalNormBias: [Float]
  /// `nil` when tied to the embedding.
  let outputProjection: [Float]?

  /// Loads every weight as F32 from a Hugging Face OPT checkpoint with its `config.json`.
  ///
  /// - Throws: ``RunnerError`` when the configuration is missing or unsupported, or a tensor is
  ///   missing, has the wrong shape or cannot be decoded.
  public init(source: any ModelSource) throws(RunnerError) {
    guard let json = source.config else {
      throw RunnerError(
        "an OPT checkpoint needs its config.json beside the weights", file: source.path)
    }
    let config = try OPTConfiguration(config: json, file: source.path)
    configuration = config
    let reader = WeightReader(source)
    let d = config.hiddenSize
    let n = config.intermediateSize
    // OPTForCausalLM saves `model.decoder.…`; the original facebook/opt checkpoints `decoder.…`.
    let prefix = reader.has("model.decoder.embed_tokens.weight") ? "model.decoder." : "decoder."
    func read(_ name: String, _ shape: [Int]) throws(RunnerError) -> [Float] {
      try reader.floats(prefix + name, shape: shape)
    }
    func bias(_ name: String, _ count: Int) throws(RunnerError) -> [Float]? {
      config.biases ? try read(name + ".bias", [count]) : nil
    }
    func norm(_ name: String) throws(RunnerError) -> (weight: [Float], bias: [Float]) {
      guard config.normAffine else {
        return ([Float](repeating: 1, count: d), [Float](repeating: 0, count: d))
      }
      return (try read(name + ".weight", [d]), try read(name + ".bias", [d]))
    }
    embedding = try read("embed_tokens.weight", [config.vocabularySize, d])
    positions = try read(
      "embed_positions.weight", [config.maximumPositions + OPTConfiguration.positionOffset, d])
    (finalNormWeight, finalNormBias) = try norm("final_layer_norm")
    outputProjection =
      config.tiedEmbeddings
      ? nil : try reader.floats("lm_head.weight", shape: [config.vocabularySize, d])
    var layers: [Layer] = []
    for index in 0..<config.layerCount {
      let p = "layers.\(index)."
      let attentionNorm = try norm(p + "self_attn_layer_norm")
      let feedForwardNorm = try norm(p + "final_layer_norm")
      let up = try LinearWeights(values: read(p + "fc1.weight", [n, d]), inputs: d, outputs: n)
      let down = try LinearWeights(values: read(p + "fc2.weight", [d, n]), inputs: n, outputs: d)
      layers.append(
        Layer(
          attentionNormWeight: attentionNorm.weight, attentionNormBias: attentionNorm.bias,
          query: try read(p + "self_attn.q_proj.weight", [d, d]),
          queryBias: try bias(p + "self_attn.q_proj", d),
          key: try read(p + "self_attn.k_proj.weight", [d, d]),
          keyBias: try bias(p + "self_attn.k_proj", d),
          value: try read(p + "self_attn.v_proj.weight", [d, d]),
          valueBias: try bias(p + "self_attn.v_proj", d),
          output: try read(p + "self_attn.out_proj.weight", [d, d]),
          outputBias: try bias(p + "self_attn.out_proj", d),
          feedForwardNormWeight: feedForwardNorm.weight,
          feedForwardNormBias: feedForwardNorm.bias,
          feedForward: try DenseFFN(
            form: .plain, activation: .relu, up: up, down: down,
            upBias: try bias(p + "fc1", n), downBias: try bias(p + "fc2", d))))
    }
    self.layers = layers
  }

  /// The source FFN of layer `layer` (0-based).
  public func feedForward(layer: Int) -> DenseFFN { layers[layer].feedForward }

  /// Runs the decoder over `tokens` (one unpadded sequence, positions 0..<count).
  ///
  /// - Parameters:
  ///   - tokens: the token ids.
  ///   - replacing: FFNs to use instead of the source's, by layer index.
  /// - Returns: the hidden states after the final LayerNorm, `[tokens, hiddenSize]`, and the
  ///   logits, `[tokens, vocabularySize]`.
  /// - Throws: ``RunnerError`` for an empty sequence or one longer than the position table, a
  ///   token id out of range, or a replacement of the wrong hidden size; any error a
  ///   replacement FFN throws.
  public func decode(tokens: [Int], replacing: [Int: any FeedForwardBlock] = [:]) throws -> (
    hiddenStates: [Float], logits: [Float]
  ) {
    let config = configuration
    let d = config.hiddenSize
    let count = tokens.count
    guard count > 0, count <= config.maximumPositions else {
      throw RunnerError("\(count) tokens; this model takes 1 to \(config.maximumPositions)")
    }
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
      let row = hidden.pointer + position * d
      let positionRow = (position + OPTConfiguration.positionOffset) * d
      for column in 0..<d {
        row[column] = embedding[token * d + column] + positions[positionRow + column]
      }
    }
    let normed = FloatBuffer(count: count * d)
    let q = FloatBuffer(count: count * d)
    let k = FloatBuffer(count: count * d)
    let v = FloatBuffer(count: count * d)
    let context = FloatBuffer(count: count * d)
    let update = FloatBuffer(count: count * d)
    let scaling = 1 / Float(config.headDimension).squareRoot()
    for (index, layer) in layers.enumerated() {
      normed.pointer.update(from: hidden.pointer, count: count * d)
      TransformerMath.layerNorm(
        normed.pointer, rows: count, columns: d, weight: layer.attentionNormWeight,
        bias: layer.attentionNormBias, epsilon: OPTConfiguration.layerNormEpsilon)
      for (weight, bias, target) in [
        (layer.query, layer.queryBias, q), (layer.key, layer.keyBias, k),
        (layer.value, layer.valueBias, v),
      ] {
        TransformerMath.linear(
          normed.pointer, rows: count, weight: weight, bias: bias, inputs: d, outputs: d,
          into: target.pointer)
      }
      // OPT scales the projected queries (bias included), then attends with scale 1.
      for offset in 0..<(count * d) { q.pointer[offset] *= scaling }
      TransformerMath.attention(
        q: q.pointer, k: k.pointer, v: v.pointer, tokens: count, heads: config.headCount,
        kvHeads: config.headCount, headDimension: config.headDimension, causal: true, scale: 1,
        into: context.pointer)
      TransformerMath.linear(
        context.pointer, rows: count, weight: layer.output, bias: layer.outputBias, inputs: d,
        outputs: d, into: update.pointer)
      TransformerMath.addResidual(update.pointer, to: hidden.pointer, count: count * d)
      normed.pointer.update(from: hidden.pointer, count: count * d)
      TransformerMath.layerNorm(
        normed.pointer, rows: count, columns: d, weight: layer.feedForwardNormWeight,
        bias: layer.feedForwardNormBias, epsilon: OPTConfiguration.layerNormEpsilon)
      let block: any FeedForwardBlock = replacing[index] ?? layer.feedForward
      try block.forward(normed.pointer, tokens: count, into: update.pointer)
      TransformerMath.addResidual(update.pointer, to: hidden.pointer, count: count * d)
    }
    TransformerMath.layerNorm(
      hidden.pointer, rows: count, columns: d, weight: finalNormWeight, bias: finalNormBias,
      epsilon: OPTConfiguration.layerNormEpsilon)
    var logits = [Float](repeating: 0, count: count * config.vocabularySize)
    logits.withUnsafeMutableBufferPointer { out in
      TransformerMath.linear(
        hidden.pointer, rows: count, weight: outputProjection ?? embedding, bias: nil,
        inputs: d, outputs: config.vocabularySize, into: out.baseAddress!)
    }
    return (hidden.array, logits)
  }
}
