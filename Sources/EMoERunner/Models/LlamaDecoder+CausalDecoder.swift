extension LlamaDecoder: CausalDecoder {
  /// The hidden size d.
  public var hiddenSize: Int { configuration.hiddenSize }
  /// The vocabulary size.
  public var vocabularySize: Int { configuration.vocabularySize }
  /// The number of decoder layers.
  public var layerCount: Int { configuration.layerCount }
  /// `nil`: rotary positions (a sliding window is checked by ``run(tokens:replacing:)``).
  public var maximumTokens: Int? { nil }

  /// Runs ``run(tokens:replacing:)`` and returns its two outputs.
  public func decode(tokens: [Int], replacing: [Int: any FeedForwardBlock]) throws -> (
    hiddenStates: [Float], logits: [Float]
  ) {
    let output = try run(tokens: tokens, replacing: replacing)
    return (output.hiddenStates, output.logits)
  }
}
