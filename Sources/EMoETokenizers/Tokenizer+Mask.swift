extension Tokenizer {
  /// The id of the mask token (`[MASK]` as in BERT, or `<mask>` as in RoBERTa), when the
  /// vocabulary has one: an added token first, then the model's own vocabulary.
  public var maskID: Int32? {
    for name in ["[MASK]", "<mask>"] {
      let bytes = Array(name.utf8)
      if let token = addedTokens.first(where: { $0.text == bytes }) { return token.id }
      switch model {
      case .wordPiece(let wordPiece): if let id = wordPiece.ids[name] { return id }
      case .bytePair(let bytePair, _): if let id = bytePair.ids[name] { return id }
      case .sentencePiece(let sentencePiece): if let id = sentencePiece.ids[name] { return id }
      case .characterPair(let characterPair):
        if let id = characterPair.pairs.ids[name] { return id }
      }
    }
    return nil
  }
}
