import EMoENumerics

/// The EMoE gate: one score per expert, `s = G x (+ bias)`, with `G` an `[E, d]` F32 matrix
/// (the mean of each expert's raw keys, or of its Wu rows), or a score computed from the FFN's
/// own matrices (``ExpertScoring``; ``ExpertFFN/scores(_:tokens:)`` computes every kind).
public struct ExpertRouter: Sendable {
  /// The gate matrix G, `[expertCount, hiddenSize]` row-major; empty unless ``scoring`` is
  /// ``ExpertScoring/matrix``.
  public let weights: [Float]
  /// What the experts are scored on.
  public let scoring: ExpertScoring
  /// The optional gate bias, one value per expert.
  public let bias: [Float]?
  /// The number of experts E.
  public let expertCount: Int
  /// The hidden size d.
  public let hiddenSize: Int

  /// Creates a router after checking the sizes.
  ///
  /// - Throws: ``RunnerError`` when `weights` is not `[expertCount, hiddenSize]` or the bias
  ///   does not have `expertCount` values.
  public init(weights: [Float], expertCount: Int, hiddenSize: Int, bias: [Float]? = nil)
    throws(RunnerError)
  {
    guard expertCount > 0, hiddenSize > 0, weights.count == expertCount * hiddenSize else {
      throw RunnerError(
        "the gate has \(weights.count) values, expected [\(expertCount), \(hiddenSize)]")
    }
    if let bias, bias.count != expertCount {
      throw RunnerError("the gate bias has \(bias.count) values, expected \(expertCount)")
    }
    self.weights = weights
    self.bias = bias
    self.expertCount = expertCount
    self.hiddenSize = hiddenSize
    self.scoring = .matrix
  }

  /// A router whose scores come from the FFN's own matrices (``ExpertScoring/upAbs``, or an
  /// evaluation oracle), with no matrix of its own.
  ///
  /// - Throws: ``RunnerError`` when `scoring` is ``ExpertScoring/matrix`` or a size is not
  ///   positive.
  public init(scoring: ExpertScoring, expertCount: Int, hiddenSize: Int) throws(RunnerError) {
    guard scoring != .matrix else {
      throw RunnerError("a matrix router needs its [\(expertCount), \(hiddenSize)] weights")
    }
    guard expertCount > 0, hiddenSize > 0 else {
      throw RunnerError("a router needs experts and a hidden size")
    }
    self.weights = []
    self.bias = nil
    self.expertCount = expertCount
    self.hiddenSize = hiddenSize
    self.scoring = scoring
  }

  /// The scores `[tokens, expertCount]` of `tokens` rows of `input` for a ``ExpertScoring/matrix``
  /// router; other routers score through ``ExpertFFN/scores(_:tokens:)``, and get zeros here.
  public func scores(_ input: UnsafePointer<Float>, tokens: Int) -> [Float] {
    var scores = [Float](repeating: 0, count: tokens * expertCount)
    guard tokens > 0, scoring == .matrix else { return scores }
    scores.withUnsafeMutableBufferPointer { s in
      weights.withUnsafeBufferPointer { g in
        BLAS.sgemm(
          .none, .transposed, m: tokens, n: expertCount, k: hiddenSize, a: input, lda: hiddenSize,
          b: g.baseAddress!, ldb: hiddenSize, c: s.baseAddress!, ldc: expertCount)
      }
      if let bias {
        RowOps.addBias(bias, to: s.baseAddress!, rows: tokens, columns: expertCount)
      }
    }
    return scores
  }

  /// Scores `tokens` rows of `input` and selects the top `topK` experts of each.
  ///
  /// - Throws: ``RunnerError`` when `topK` is not in `1...expertCount`.
  public func route(
    _ input: UnsafePointer<Float>, tokens: Int, topK: Int,
    combination: ExpertCombination = .unitWeights
  ) throws(RunnerError) -> ExpertRouting {
    try ExpertRouting.select(
      scores: scores(input, tokens: tokens), tokens: tokens, expertCount: expertCount,
      topK: topK, combination: combination)
  }
}
