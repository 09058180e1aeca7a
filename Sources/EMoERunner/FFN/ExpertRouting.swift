import EMoECore

/// How the outputs of a token's selected experts are combined.
public enum ExpertCombination: String, Sendable, Hashable, CaseIterable {
  /// Every selected expert's output is added with weight 1 (EMoE's block mask; the default).
  case unitWeights = "sum"
  /// Each selected expert's output is weighted by the softmax of the selected experts' scores
  /// (Tutel-style gate weighting; an option, not EMoE's default).
  case softmaxOfSelected = "softmax"
}

/// The experts chosen for each token of a batch and the weight of each choice.
///
/// Both EMoE forward paths (masked and sparse) take one of these, so they use the very same
/// selection.
public struct ExpertRouting: Sendable, Equatable {
  /// The number of tokens T.
  public let tokens: Int
  /// The number of experts E.
  public let expertCount: Int
  /// The number of experts chosen per token k.
  public let topK: Int
  /// `[tokens, topK]`: each token's experts, highest score first (ties: lower index first).
  public let selected: [Int]
  /// `[tokens, topK]`: the weight of each selected expert's output.
  public let weights: [Float]

  /// Creates a routing from explicit choices, checking their ranges.
  ///
  /// - Throws: ``RunnerError`` when counts do not match, an expert index is out of range, or a
  ///   token selects the same expert twice.
  public init(selected: [Int], weights: [Float], tokens: Int, expertCount: Int, topK: Int)
    throws(RunnerError)
  {
    guard tokens >= 0, expertCount > 0, (1...expertCount).contains(topK) else {
      throw RunnerError("top-k \(topK) is not between 1 and the \(expertCount) experts")
    }
    guard selected.count == tokens * topK, weights.count == tokens * topK else {
      throw RunnerError(
        "a routing of \(tokens) tokens × \(topK) needs \(tokens * topK) choices and weights")
    }
    for token in 0..<tokens {
      let choices = selected[(token * topK)..<((token + 1) * topK)]
      guard choices.allSatisfy({ (0..<expertCount).contains($0) }),
        Set(choices).count == topK
      else {
        throw RunnerError("token \(token) selects invalid or repeated experts \(Array(choices))")
      }
    }
    self.selected = selected
    self.weights = weights
    self.tokens = tokens
    self.expertCount = expertCount
    self.topK = topK
  }

  /// Selects the `topK` highest-scoring experts of every token.
  ///
  /// Ties go to the lower expert index; a NaN score ranks below every number.
  ///
  /// - Parameter scores: `[tokens, expertCount]` row-major.
  /// - Throws: ``RunnerError`` when `topK` is not in `1...expertCount` or `scores` has the
  ///   wrong size.
  public static func select(
    scores: [Float], tokens: Int, expertCount: Int, topK: Int,
    combination: ExpertCombination = .unitWeights
  ) throws(RunnerError) -> ExpertRouting {
    guard expertCount > 0, (1...expertCount).contains(topK) else {
      throw RunnerError("top-k \(topK) is not between 1 and the \(expertCount) experts")
    }
    guard scores.count == tokens * expertCount else {
      throw RunnerError("\(scores.count) scores for \(tokens) tokens × \(expertCount) experts")
    }
    var selected: [Int] = []
    var weights: [Float] = []
    selected.reserveCapacity(tokens * topK)
    weights.reserveCapacity(tokens * topK)
    for token in 0..<tokens {
      let row = token * expertCount
      var order = Array(0..<expertCount)
      order.sort { a, b in ranksBefore(scores[row + a], a, scores[row + b], b) }
      let chosen = order[0..<topK]
      selected.append(contentsOf: chosen)
      switch combination {
      case .unitWeights:
        weights.append(contentsOf: repeatElement(1, count: topK))
      case .softmaxOfSelected:
        let values = chosen.map { Double(scores[row + $0]) }
        let largest = values.max() ?? 0
        let exponentials = values.map { ($0 - largest).isNaN ? 0 : exp($0 - largest) }
        let total = exponentials.reduce(0, +)
        weights.append(contentsOf: exponentials.map { Float(total > 0 ? $0 / total : 0) })
      }
    }
    return try ExpertRouting(
      selected: selected, weights: weights, tokens: tokens, expertCount: expertCount, topK: topK)
  }

  /// The experts of `token`, highest score first.
  public func experts(ofToken token: Int) -> ArraySlice<Int> {
    selected[(token * topK)..<((token + 1) * topK)]
  }

  /// The block mask `[tokens, expertCount]`: each selected expert's weight, 0 elsewhere.
  public func mask() -> [Float] {
    var mask = [Float](repeating: 0, count: tokens * expertCount)
    for index in selected.indices {
      mask[(index / topK) * expertCount + selected[index]] = weights[index]
    }
    return mask
  }

  /// The tokens routed to each expert, in increasing token order, with their weights.
  ///
  /// Expert e's tokens are `tokenIndices[offsets[e]..<offsets[e + 1]]`.
  public func groupedByExpert() -> (offsets: [Int], tokenIndices: [Int], weights: [Float]) {
    var counts = [Int](repeating: 0, count: expertCount)
    for expert in selected { counts[expert] += 1 }
    var offsets = [0]
    offsets.reserveCapacity(expertCount + 1)
    for count in counts { offsets.append(offsets[offsets.count - 1] + count) }
    var next = Array(offsets.dropLast())
    var tokenIndices = [Int](repeating: 0, count: selected.count)
    var groupedWeights = [Float](repeating: 0, count: selected.count)
    // Walking tokens in order fills each expert's list in increasing token order.
    for index in selected.indices {
      let expert = selected[index]
      tokenIndices[next[expert]] = index / topK
      groupedWeights[next[expert]] = weights[index]
      next[expert] += 1
    }
    return (offsets, tokenIndices, groupedWeights)
  }

  /// Whether (score `a`, index `i`) ranks before (score `b`, index `j`).
  static func ranksBefore(_ a: Float, _ i: Int, _ b: Float, _ j: Int) -> Bool {
    switch (a.isNaN, b.isNaN) {
    case (false, false): a > b || (a == b && i < j)
    case (false, true): true
    case (true, false): false
    case (true, true): i < j
    }
  }
}
