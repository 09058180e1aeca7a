extension GPTNeoXDecoder: CausalDecoder {
  /// The hidden size d.
  public var hiddenSize: Int { configuration.hiddenSize }
  /// The vocabulary size.
  public var vocabularySize: Int { configuration.vocabularySize }
  /// The number of decoder layers.
  public var layerCount: Int { configuration.layerCount }
  /// `nil`: rotary positions have no table to run out of.
  public var maximumTokens: Int? { nil }
}
