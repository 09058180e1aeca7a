import EMoECore

extension BertEncoder {
  /// The masked-LM head's logits `[positions.count, vocabularySize]` at `positions` of
  /// `tokens`, whose inputs at those positions are replaced by `maskID` first.
  ///
  /// - Throws: ``RunnerError`` when the model has no masked-LM head or a position is out of
  ///   range; any error ``hiddenStates(tokens:tokenTypes:replacing:)`` throws.
  public func maskedLMLogits(
    tokens: [Int], positions: [Int], maskID: Int, replacing: [Int: any FeedForwardBlock] = [:]
  ) throws -> [Float] {
    guard let head = maskedLMHead else {
      throw RunnerError("this BERT checkpoint has no masked-LM head (cls.predictions)")
    }
    var input = tokens
    for position in positions {
      guard input.indices.contains(position) else {
        throw RunnerError("masked position \(position) is outside the \(tokens.count) tokens")
      }
      input[position] = maskID
    }
    guard !positions.isEmpty else { return [] }
    let hidden = try hiddenStates(tokens: input, replacing: replacing)
    let d = configuration.hiddenSize
    var rows: [Float] = []
    rows.reserveCapacity(positions.count * d)
    for position in positions { rows += hidden[(position * d)..<((position + 1) * d)] }
    return head.logits(rows, rows: positions.count)
  }
}
