/// A decoder-only language model the whole-model commands can run: one sequence of token ids
/// in, the final hidden states and the logits out, with any layer's FFN replaceable.
///
/// LLaMA-family, GPT-NeoX and OPT decoders differ in everything around the FFN (norms,
/// positions, residual wiring) but the commands only need this much of them.
public protocol CausalDecoder: Sendable {
  /// The hidden size d.
  var hiddenSize: Int { get }
  /// The vocabulary size.
  var vocabularySize: Int { get }
  /// The number of decoder layers.
  var layerCount: Int { get }
  /// The longest sequence the model takes, when its positions are learned (OPT); `nil` for
  /// rotary models.
  var maximumTokens: Int? { get }

  /// Runs the decoder over `tokens` (one unpadded sequence, positions 0..<count).
  ///
  /// - Parameters:
  ///   - tokens: the token ids.
  ///   - replacing: FFNs to use instead of the source's, by layer index.
  /// - Returns: the hidden states after the final norm, `[tokens, hiddenSize]`, and the
  ///   logits, `[tokens, vocabularySize]`.
  func decode(tokens: [Int], replacing: [Int: any FeedForwardBlock]) throws -> (
    hiddenStates: [Float], logits: [Float]
  )
}
