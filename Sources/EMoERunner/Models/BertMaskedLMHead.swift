import EMoECore
import EMoEFormats
import EMoENumerics

/// The masked-LM head of a BERT checkpoint (BertForMaskedLM's `cls.predictions`), run in F32.
///
/// `dense` + bias, the model's activation, LayerNorm, then the decoder to the vocabulary:
/// `cls.predictions.decoder.weight` when stored, otherwise the word embeddings (tied, as
/// Hugging Face saves it), plus `cls.predictions.bias` (or `cls.predictions.decoder.bias`).
public struct BertMaskedLMHead: Sendable {
  let transform: [Float]
  let transformBias: [Float]
  let normWeight: [Float]
  let normBias: [Float]
  let decoder: [Float]
  let decoderBias: [Float]
  let activation: Activation
  let epsilon: Float
  let hiddenSize: Int
  /// The number of logits per position.
  public let vocabularySize: Int

  /// The head of `reader`'s model, or `nil` when it has no `cls.predictions.transform.dense`.
  ///
  /// - Throws: ``RunnerError`` naming a head tensor that is missing or of the wrong shape.
  init?(
    reader: WeightReader, configuration config: BertConfiguration, wordEmbeddings: [Float]
  ) throws(RunnerError) {
    let p = "cls.predictions."
    guard reader.has(p + "transform.dense.weight") else { return nil }
    let d = config.hiddenSize
    let v = config.vocabularySize
    transform = try reader.floats(p + "transform.dense.weight", shape: [d, d])
    transformBias = try reader.floats(p + "transform.dense.bias", shape: [d])
    if reader.has(p + "transform.LayerNorm.weight") {
      normWeight = try reader.floats(p + "transform.LayerNorm.weight", shape: [d])
      normBias = try reader.floats(p + "transform.LayerNorm.bias", shape: [d])
    } else {
      normWeight = try reader.floats(p + "transform.LayerNorm.gamma", shape: [d])
      normBias = try reader.floats(p + "transform.LayerNorm.beta", shape: [d])
    }
    decoder =
      try reader.optionalFloats(p + "decoder.weight", shape: [v, d]) ?? wordEmbeddings
    if let bias = try reader.optionalFloats(p + "bias", shape: [v]) {
      decoderBias = bias
    } else {
      decoderBias = try reader.floats(p + "decoder.bias", shape: [v])
    }
    activation = config.activation
    epsilon = config.layerNormEpsilon
    hiddenSize = d
    vocabularySize = v
  }

  /// The logits `[rows, vocabularySize]` of `rows` final hidden states (`[rows, hiddenSize]`).
  public func logits(_ hidden: [Float], rows: Int) -> [Float] {
    precondition(hidden.count == rows * hiddenSize, "hidden states of the wrong size")
    let d = hiddenSize
    let transformed = FloatBuffer(count: rows * d)
    hidden.withUnsafeBufferPointer { input in
      TransformerMath.linear(
        input.baseAddress!, rows: rows, weight: transform, bias: transformBias, inputs: d,
        outputs: d, into: transformed.pointer)
    }
    activation.apply(transformed.pointer, count: rows * d)
    TransformerMath.layerNorm(
      transformed.pointer, rows: rows, columns: d, weight: normWeight, bias: normBias,
      epsilon: epsilon)
    let output = FloatBuffer(count: rows * vocabularySize)
    TransformerMath.linear(
      transformed.pointer, rows: rows, weight: decoder, bias: decoderBias, inputs: d,
      outputs: vocabularySize, into: output.pointer)
    return output.array
  }
}
