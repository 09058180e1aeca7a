import EMoEConvert

/// The positions masked for the masked-LM loss: the same for the dense and every EMoE run.
enum MaskedPositions {
  /// The fraction of each sentence's ordinary tokens that is masked.
  static let fraction = 0.15

  /// The masked positions of each sentence, ascending.
  ///
  /// `round(15 % of its ordinary tokens)` positions per sentence (at least one when it has
  /// any), drawn without replacement by a partial Fisher–Yates shuffle driven by one SplitMix64
  /// seeded with `seed` and run over the sentences in order. The `prefix` first and `suffix`
  /// last tokens of each sentence (`[CLS]`, `[SEP]`) are never masked.
  static func choose(sentences: [[Int]], prefix: Int, suffix: Int, seed: UInt64) -> [[Int]] {
    var generator = SplitMix64(seed: seed)
    return sentences.map { ids in
      let end = ids.count - suffix
      guard end > prefix else { return [] }
      var candidates = Array(prefix..<end)
      let count = max(1, Int((fraction * Double(candidates.count)).rounded()))
      for index in 0..<count {
        let pick = index + generator.nextIndex(below: candidates.count - index)
        candidates.swapAt(index, pick)
      }
      return candidates[0..<count].sorted()
    }
  }
}
