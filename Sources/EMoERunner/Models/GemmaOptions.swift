/// What Gemma and Gemma 2 compute differently from LLaMA, on the same tensor names.
///
/// Gemma scales the token embedding by √d and multiplies every RMSNorm by `1 + w` instead of
/// `w`. Gemma 2 also normalises the attention and FFN outputs before their residuals
/// (`post_attention_layernorm`, `post_feedforward_layernorm`, with `pre_feedforward_layernorm`
/// before the FFN), scales queries by `query_pre_attn_scalar^-1/2`, and soft-caps attention
/// scores and final logits with `c · tanh(x / c)`.
public struct GemmaOptions: Sendable, Equatable {
  /// Whether the layer has Gemma 2's four norms (else Gemma's two, placed as LLaMA's).
  public var sandwichNorms: Bool
  /// The factor applied to attention scores in place of `1/√headDimension`.
  public var attentionScale: Float?
  /// The attention-score soft cap, when there is one.
  public var attentionSoftcap: Float?
  /// The final-logit soft cap, when there is one.
  public var finalSoftcap: Float?

  /// Creates options.
  public init(
    sandwichNorms: Bool, attentionScale: Float? = nil, attentionSoftcap: Float? = nil,
    finalSoftcap: Float? = nil
  ) {
    self.sandwichNorms = sandwichNorms
    self.attentionScale = attentionScale
    self.attentionSoftcap = attentionSoftcap
    self.finalSoftcap = finalSoftcap
  }
}
