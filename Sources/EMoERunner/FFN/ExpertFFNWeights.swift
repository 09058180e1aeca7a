import EMoENumerics

/// An FFN in the canonical EMoE layout (what the `.emoe` container stores): every matrix
/// neuron-major with one `[n, d]` row per neuron, experts as contiguous row blocks, and the
/// router.
///
/// W1 (plain) or Wg and Wu (GLU) are stored as they are, `[n, d]`; the down matrix is stored
/// transposed, `[n, d]`, so row i is column i of W2. Expert e owns rows
/// `expertBoundaries[e] ..< expertBoundaries[e + 1]` of all three matrices and of the
/// neuron biases; rows `0 ..< expertBoundaries[0]` are the shared block every token computes
/// (none when the boundaries start at 0). Rows may be F32, F16, BF16, int8 with row scales, or
/// Q8_0.
public struct ExpertFFNWeights: Sendable {
  /// Plain or gated.
  public let form: FeedForwardForm
  /// The activation of the first product (plain) or of the gate (GLU).
  public let activation: Activation
  /// The hidden size d.
  public let hiddenSize: Int
  /// The number of neurons n.
  public let intermediateSize: Int
  /// The first row of every routed expert, then n (E + 1 values, non-decreasing, from the
  /// shared block's size S).
  public let expertBoundaries: [Int]
  /// Wg `[n, d]` (GLU only).
  public let gate: EncodedRows?
  /// W1 or Wu `[n, d]`.
  public let up: EncodedRows
  /// W2 or Wd transposed, `[n, d]`.
  public let downTransposed: EncodedRows
  /// The gate bias `[n]` (GLU only).
  public let gateBias: [Float]?
  /// b1 (plain) or the up bias (GLU), `[n]`.
  public let upBias: [Float]?
  /// b2 `[d]`.
  public let downBias: [Float]?
  /// The router G `[E, d]` with its optional bias.
  public let router: ExpertRouter

  /// The number of routed experts E.
  public var expertCount: Int { expertBoundaries.count - 1 }

  /// The number S of shared neurons, rows `0 ..< S`, computed for every token.
  public var sharedCount: Int { expertBoundaries[0] }

  /// The rows of expert `expert`.
  public func expertRange(_ expert: Int) -> Range<Int> {
    expertBoundaries[expert]..<expertBoundaries[expert + 1]
  }

  /// Creates the layout after checking that every shape agrees.
  ///
  /// - Throws: ``RunnerError`` when a matrix is not `[n, d]`, a bias has the wrong length, the
  ///   boundaries do not run from some S in `0..<n` to n in order, or the router's E or d differ.
  public init(
    form: FeedForwardForm, activation: Activation, expertBoundaries: [Int], gate: EncodedRows?,
    up: EncodedRows, downTransposed: EncodedRows, gateBias: [Float]? = nil,
    upBias: [Float]? = nil, downBias: [Float]? = nil, router: ExpertRouter
  ) throws(RunnerError) {
    let n = up.rows
    let d = up.columns
    guard n > 0, d > 0 else { throw RunnerError("the up matrix '\(up.name)' is empty") }
    guard downTransposed.rows == n, downTransposed.columns == d else {
      throw RunnerError(
        "the transposed down matrix '\(downTransposed.name)' is [\(downTransposed.rows), "
          + "\(downTransposed.columns)], expected [\(n), \(d)]")
    }
    switch form {
    case .plain:
      guard gate == nil, gateBias == nil else {
        throw RunnerError("a plain FFN has no gate matrix")
      }
    case .gated:
      guard let gate else { throw RunnerError("a GLU FFN needs a gate matrix") }
      guard gate.rows == n, gate.columns == d else {
        throw RunnerError(
          "the gate matrix '\(gate.name)' is [\(gate.rows), \(gate.columns)], expected [\(n), \(d)]"
        )
      }
    }
    for (name, bias, count) in [("gate", gateBias, n), ("up", upBias, n), ("down", downBias, d)] {
      if let bias, bias.count != count {
        throw RunnerError("the \(name) bias has \(bias.count) values, expected \(count)")
      }
    }
    guard expertBoundaries.count >= 2, let first = expertBoundaries.first, (0..<n).contains(first),
      expertBoundaries.last == n,
      zip(expertBoundaries, expertBoundaries.dropFirst()).allSatisfy({ $0 <= $1 })
    else {
      throw RunnerError(
        "expert boundaries must rise from S (the shared neurons, 0 <= S < n) to \(n); got "
          + "\(expertBoundaries)")
    }
    guard router.expertCount == expertBoundaries.count - 1, router.hiddenSize == d else {
      throw RunnerError(
        "the router is [\(router.expertCount), \(router.hiddenSize)], expected "
          + "[\(expertBoundaries.count - 1), \(d)]")
    }
    self.form = form
    self.activation = activation
    self.hiddenSize = d
    self.intermediateSize = n
    self.expertBoundaries = expertBoundaries
    self.gate = gate
    self.up = up
    self.downTransposed = downTransposed
    self.gateBias = gateBias
    self.upBias = upBias
    self.downBias = downBias
    self.router = router
  }
}
