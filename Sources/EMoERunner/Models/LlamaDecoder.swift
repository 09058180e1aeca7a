import EMoECore
import EMoEFormats
import EMoEModel
import EMoENumerics

/// A LLaMA-family decoder run in F32 over one sequence of token ids, for comparing a source
/// model with its EMoE form.
///
/// Token embedding, then per layer: RMSNorm, attention with rotary embeddings (Hugging Face's
/// rotate-half convention) and grouped key/value heads under a causal mask, residual; RMSNorm,
/// the SwiGLU FFN, residual; a final RMSNorm and the output projection (`lm_head` or the tied
/// embedding). Reads Hugging Face safetensors with `config.json`, or GGUF files of architecture
/// `llama`, whose `attn_q`/`attn_k` rows llama.cpp's converter permuted for interleaved rotary
/// pairs: that permutation is undone on load. Any layer's FFN can be replaced.
public struct LlamaDecoder: Sendable {
  struct Layer: Sendable {
    var attentionNorm: [Float]
    var query: [Float]
    var queryBias: [Float]?
    var key: [Float]
    var keyBias: [Float]?
    var value: [Float]
    var valueBias: [Float]?
    /// Qwen3's per-head RMSNorm weights for queries and keys, `[headDimension]` each.
    var queryNorm: [Float]?
    var keyNorm: [Float]?
    var output: [Float]
    var outputBias: [Float]?
    var feedForwardNorm: [Float]
    /// Gemma 2's norms of the attention and FFN outputs, before their residuals.
    var postAttentionNorm: [Float]?
    var postFeedForwardNorm: [Float]?
    var feedForward: DenseFFN
  }

  /// The outputs of one run.
  public struct Output: Sendable {
    /// The hidden states after the final RMSNorm, `[tokens, hiddenSize]`.
    public var hiddenStates: [Float]
    /// The logits, `[tokens, vocabularySize]`.
    public var logits: [Float]
  }

  /// The hyperparameters.
  public let configuration: LlamaConfiguration
  let embedding: [Float]
  let layers: [Layer]
  let finalNorm: [Float]
  /// `nil` when tied to the embedding.
  let outputProjection: [Float]?

  /// Loads every weight as F32 from a Hugging Face checkpoint (with `config.json`) or a llama
  /// GGUF file (quantised tensors are dequantised).
  ///
  /// - Throws: ``RunnerError`` when the configuration is missing or unsupported, or a tensor is
  ///   missing, has the wrong shape or cannot be decoded.
  public init(source: any ModelSource) throws(RunnerError) {
    let reader = WeightReader(source)
    if case .gguf(let pairs) = source.metadata {
      let config = try LlamaConfiguration(
        gguf: pairs, tensors: source.tensorInfos, file: source.path)
      try self.init(reader: reader, configuration: config, names: .gguf)
    } else if let json = source.config {
      let config = try LlamaConfiguration(config: json, file: source.path)
      try self.init(reader: reader, configuration: config, names: .huggingFace)
    } else {
      throw RunnerError(
        "a LLaMA checkpoint needs its config.json beside the weights", file: source.path)
    }
  }

  private enum Naming { case huggingFace, gguf }

  private init(reader: WeightReader, configuration config: LlamaConfiguration, names: Naming)
    throws(RunnerError)
  {
    self.configuration = config
    let d = config.hiddenSize
    let n = config.intermediateSize
    let v = config.vocabularySize
    let qWidth = config.headCount * config.headDimension
    let kvWidth = config.keyValueHeadCount * config.headDimension
    func name(_ hf: String, _ gguf: String) -> String { names == .gguf ? gguf : hf }
    embedding = try reader.floats(
      name("model.embed_tokens.weight", "token_embd.weight"), shape: [v, d])
    // Gemma's RMSNorms multiply by 1 + w.
    let normOffset: Float = config.gemma == nil ? 0 : 1
    func norm(_ values: [Float]) -> [Float] {
      normOffset == 0 ? values : values.map { $0 + normOffset }
    }
    finalNorm = norm(
      try reader.floats(name("model.norm.weight", "output_norm.weight"), shape: [d]))
    let outputName = name("lm_head.weight", "output.weight")
    if config.tiedEmbeddings {
      outputProjection = nil
    } else {
      outputProjection = try reader.floats(outputName, shape: [v, d])
    }
    var layers: [Layer] = []
    for index in 0..<config.layerCount {
      let hf = "model.layers.\(index)."
      let gg = "blk.\(index)."
      func weight(_ hfName: String, _ ggName: String, _ shape: [Int]) throws(RunnerError) -> [Float]
      {
        try reader.floats(name(hf + hfName + ".weight", gg + ggName + ".weight"), shape: shape)
      }
      func bias(_ hfName: String, _ ggName: String, _ count: Int) throws(RunnerError) -> [Float]? {
        try reader.optionalFloats(
          name(hf + hfName + ".bias", gg + ggName + ".bias"), shape: [count])
      }
      var query = try weight("self_attn.q_proj", "attn_q", [qWidth, d])
      var key = try weight("self_attn.k_proj", "attn_k", [kvWidth, d])
      var queryBias = try bias("self_attn.q_proj", "attn_q", qWidth)
      var keyBias = try bias("self_attn.k_proj", "attn_k", kvWidth)
      if names == .gguf {
        query = LlamaRotaryPermutation.unpermute(query, heads: config.headCount, columns: d)
        key = LlamaRotaryPermutation.unpermute(key, heads: config.keyValueHeadCount, columns: d)
        queryBias = queryBias.map {
          LlamaRotaryPermutation.unpermute($0, heads: config.headCount, columns: 1)
        }
        keyBias = keyBias.map {
          LlamaRotaryPermutation.unpermute($0, heads: config.keyValueHeadCount, columns: 1)
        }
      }
      let sandwich = config.gemma?.sandwichNorms == true
      var postAttentionNorm: [Float]? = nil
      var postFeedForwardNorm: [Float]? = nil
      var feedForwardNorm = norm(try weight("post_attention_layernorm", "ffn_norm", [d]))
      if sandwich {
        postAttentionNorm = feedForwardNorm
        feedForwardNorm = norm(try weight("pre_feedforward_layernorm", "ffn_pre_norm", [d]))
        postFeedForwardNorm = norm(try weight("post_feedforward_layernorm", "ffn_post_norm", [d]))
      }
      var queryNorm: [Float]? = nil
      var keyNorm: [Float]? = nil
      let hd = config.headDimension
      if config.queryKeyNorm {
        queryNorm = try weight("self_attn.q_norm", "attn_q_norm", [hd])
        keyNorm = try weight("self_attn.k_norm", "attn_k_norm", [hd])
      } else {
        // A norm the configuration does not announce would be silently skipped.
        let stray = name(hf + "self_attn.q_norm.weight", gg + "attn_q_norm.weight")
        if reader.has(stray) {
          throw RunnerError(
            "the model has per-head query norms, which only model_type qwen3 declares",
            file: reader.source.path, tensor: stray)
        }
      }
      let gate = try LinearWeights(
        values: weight("mlp.gate_proj", "ffn_gate", [n, d]), inputs: d, outputs: n)
      let up = try LinearWeights(
        values: weight("mlp.up_proj", "ffn_up", [n, d]), inputs: d, outputs: n)
      let down = try LinearWeights(
        values: weight("mlp.down_proj", "ffn_down", [d, n]), inputs: n, outputs: d)
      layers.append(
        Layer(
          attentionNorm: norm(try weight("input_layernorm", "attn_norm", [d])),
          query: query, queryBias: queryBias, key: key, keyBias: keyBias,
          value: try weight("self_attn.v_proj", "attn_v", [kvWidth, d]),
          valueBias: try bias("self_attn.v_proj", "attn_v", kvWidth),
          queryNorm: queryNorm, keyNorm: keyNorm,
          output: try weight("self_attn.o_proj", "attn_output", [d, qWidth]),
          outputBias: try bias("self_attn.o_proj", "attn_output", d),
          feedForwardNorm: feedForwardNorm, postAttentionNorm: postAttentionNorm,
          postFeedForwardNorm: postFeedForwardNorm,
          feedForward: try DenseFFN(
            form: .gated, activation: config.activation, gate: gate, up: up, down: down,
            gateBias: try bias("mlp.gate_proj", "ffn_gate", n),
            upBias: try bias("mlp.up_proj", "ffn_up", n),
            downBias: try bias("mlp.down_proj", "ffn_down", d))))
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
  /// - Throws: ``RunnerError`` for an empty sequence, a token id out of range, or a replacement
  ///   of the wrong hidden size; any error a replacement FFN throws.
  public func run(tokens: [Int], replacing: [Int: any FeedForwardBlock] = [:]) throws -> Output {
    let config = configuration
    let d = config.hiddenSize
    let count = tokens.count
    guard count > 0 else { throw RunnerError("no tokens to run") }
    if let window = config.slidingWindow, count > window {
      throw RunnerError(
        "\(count) tokens exceed the model's sliding attention window of \(window)")
    }
    for token in tokens where !(0..<config.vocabularySize).contains(token) {
      throw RunnerError("token id \(token) is outside the vocabulary of \(config.vocabularySize)")
    }
    for (layer, block) in replacing {
      guard (0..<config.layerCount).contains(layer), block.hiddenSize == d else {
        throw RunnerError("the FFN for layer \(layer) does not fit this \(d)-wide model")
      }
    }
    let qWidth = config.headCount * config.headDimension
    let kvWidth = config.keyValueHeadCount * config.headDimension
    let hidden = FloatBuffer(count: count * d)
    for (position, token) in tokens.enumerated() {
      embedding.withUnsafeBufferPointer { e in
        (hidden.pointer + position * d).update(from: e.baseAddress! + token * d, count: d)
      }
    }
    if config.gemma != nil {
      // Gemma scales the embedding by √d, rounded to the model's float type as transformers does.
      let scale = Float(Double(d).squareRoot())
      for index in 0..<(count * d) { hidden.pointer[index] *= scale }
    }
    let normed = FloatBuffer(count: count * d)
    let q = FloatBuffer(count: count * qWidth)
    let k = FloatBuffer(count: count * kvWidth)
    let v = FloatBuffer(count: count * kvWidth)
    let context = FloatBuffer(count: count * qWidth)
    let update = FloatBuffer(count: count * d)
    let tables = TransformerMath.ropeTables(
      tokens: count, headDimension: config.headDimension, theta: config.ropeTheta)
    for (index, layer) in layers.enumerated() {
      TransformerMath.rmsNorm(
        hidden.pointer, rows: count, columns: d, weight: layer.attentionNorm,
        epsilon: config.rmsNormEpsilon, into: normed.pointer)
      TransformerMath.linear(
        normed.pointer, rows: count, weight: layer.query, bias: layer.queryBias, inputs: d,
        outputs: qWidth, into: q.pointer)
      TransformerMath.linear(
        normed.pointer, rows: count, weight: layer.key, bias: layer.keyBias, inputs: d,
        outputs: kvWidth, into: k.pointer)
      TransformerMath.linear(
        normed.pointer, rows: count, weight: layer.value, bias: layer.valueBias, inputs: d,
        outputs: kvWidth, into: v.pointer)
      if let queryNorm = layer.queryNorm, let keyNorm = layer.keyNorm {
        // In place: each head's values are read before they are written.
        TransformerMath.rmsNorm(
          q.pointer, rows: count * config.headCount, columns: config.headDimension,
          weight: queryNorm, epsilon: config.rmsNormEpsilon, into: q.pointer)
        TransformerMath.rmsNorm(
          k.pointer, rows: count * config.keyValueHeadCount, columns: config.headDimension,
          weight: keyNorm, epsilon: config.rmsNormEpsilon, into: k.pointer)
      }
      TransformerMath.applyRope(
        q.pointer, tokens: count, heads: config.headCount, headDimension: config.headDimension,
        tables: tables)
      TransformerMath.applyRope(
        k.pointer, tokens: count, heads: config.keyValueHeadCount,
        headDimension: config.headDimension, tables: tables)
      TransformerMath.attention(
        q: q.pointer, k: k.pointer, v: v.pointer, tokens: count, heads: config.headCount,
        kvHeads: config.keyValueHeadCount, headDimension: config.headDimension, causal: true,
        scale: config.gemma?.attentionScale, softcap: config.gemma?.attentionSoftcap,
        into: context.pointer)
      TransformerMath.linear(
        context.pointer, rows: count, weight: layer.output, bias: layer.outputBias,
        inputs: qWidth, outputs: d, into: update.pointer)
      if let postAttentionNorm = layer.postAttentionNorm {
        TransformerMath.rmsNorm(
          update.pointer, rows: count, columns: d, weight: postAttentionNorm,
          epsilon: config.rmsNormEpsilon, into: update.pointer)
      }
      TransformerMath.addResidual(update.pointer, to: hidden.pointer, count: count * d)
      TransformerMath.rmsNorm(
        hidden.pointer, rows: count, columns: d, weight: layer.feedForwardNorm,
        epsilon: config.rmsNormEpsilon, into: normed.pointer)
      let block: any FeedForwardBlock = replacing[index] ?? layer.feedForward
      try block.forward(normed.pointer, tokens: count, into: update.pointer)
      if let postFeedForwardNorm = layer.postFeedForwardNorm {
        TransformerMath.rmsNorm(
          update.pointer, rows: count, columns: d, weight: postFeedForwardNorm,
          epsilon: config.rmsNormEpsilon, into: update.pointer)
      }
      TransformerMath.addResidual(update.pointer, to: hidden.pointer, count: count * d)
    }
    TransformerMath.rmsNorm(
      hidden.pointer, rows: count, columns: d, weight: finalNorm, epsilon: config.rmsNormEpsilon,
      into: normed.pointer)
    var logits = [Float](repeating: 0, count: count * config.vocabularySize)
    logits.withUnsafeMutableBufferPointer { out in
      TransformerMath.linear(
        normed.pointer, rows: count, weight: outputProjection ?? embedding, bias: nil,
        inputs: d, outputs: config.vocabularySize, into: out.baseAddress!)
    }
    if let cap = config.gemma?.finalSoftcap {
      for index in logits.indices { logits[index] = cap * tanhf(logits[index] / cap) }
    }
    return Output(hiddenStates: normed.array, logits: logits)
  }
}
