/// The weights of one pre-LayerNorm decoder layer with separate query, key and value
/// projections and a plain FFN, as GPT-NeoX and OPT store them (GPT-NeoX's fused
/// `query_key_value` already split).
struct LayerNormDecoderLayer: Sendable {
  var attentionNormWeight: [Float]
  var attentionNormBias: [Float]
  /// `[d, d]` each, with their biases when the model has them.
  var query: [Float]
  var queryBias: [Float]?
  var key: [Float]
  var keyBias: [Float]?
  var value: [Float]
  var valueBias: [Float]?
  var output: [Float]
  var outputBias: [Float]?
  var feedForwardNormWeight: [Float]
  var feedForwardNormBias: [Float]
  var feedForward: DenseFFN
}
