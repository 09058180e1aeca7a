extension OPTDecoder: CausalDecoder {
  /// The hidden size d.
  public var hiddenSize: Int { configuration.hiddenSize }
  /// The vocabulary size.
  public var vocabularySize: Int { configuration.vocabularySize }
  /// The number of decoder layers.
  public var layerCount: Int { configuration.layerCount }
  /// `max_position_embeddings`: the learned position table ends there.
  public var maximumTokens: Int? { configuration.maximumPositions }
}
