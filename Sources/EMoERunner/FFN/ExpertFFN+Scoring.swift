import EMoENumerics

extension ExpertFFN {
  /// The router's scores `[tokens, E]` of `tokens` rows of `input`, whatever its
  /// ``ExpertScoring``.
  public func scores(_ input: UnsafePointer<Float>, tokens: Int) -> [Float] {
    scoresAndUpProjection(input, tokens: tokens).scores
  }

  /// The scores, and for the up-abs router the up projection of every neuron `[tokens, n]`
  /// without its bias, which the forward paths reuse.
  func scoresAndUpProjection(_ x: UnsafePointer<Float>, tokens: Int) -> (
    scores: [Float], up: FloatBuffer?
  ) {
    let router = weights.router
    switch router.scoring {
    case .matrix:
      return (router.scores(x, tokens: tokens), nil)
    case .upAbs:
      let up = projectAll(x, tokens: tokens, through: weights.up)
      let scores = neuronMeans(
        up.pointer, tokens: tokens, bias: weights.upBias, magnitude: true)
      return (scores, up)
    case .inter, .interAbs:
      let hidden = intermediate(x, tokens: tokens)
      let scores = neuronMeans(
        hidden.pointer, tokens: tokens, bias: nil, magnitude: router.scoring.takesMagnitude)
      return (scores, nil)
    }
  }

  /// Every neuron's activation `[tokens, n]`: `act(Wg x + bg) ⊙ (Wu x + bu)` or `act(W1 x + b1)`.
  func intermediate(_ x: UnsafePointer<Float>, tokens: Int) -> FloatBuffer {
    let n = weights.intermediateSize
    let up = projectAll(x, tokens: tokens, through: weights.up)
    let gate = weights.gate.map { projectAll(x, tokens: tokens, through: $0) }
    // The activations land in the gate's buffer (GLU) or the up projection's (plain).
    _ = activate(up: up.pointer, gate: gate?.pointer, tokens: tokens, rows: 0..<n, stride: n)
    return gate ?? up
  }

  /// `x · matrixᵀ` for every neuron, `[tokens, n]`, decoding one expert block at a time when
  /// the rows are not F32.
  func projectAll(_ x: UnsafePointer<Float>, tokens: Int, through matrix: EncodedRows)
    -> FloatBuffer
  {
    let n = weights.intermediateSize
    let d = weights.hiddenSize
    let out = FloatBuffer(count: tokens * n)
    guard tokens > 0 else { return out }
    let chunks = chunks
    let scratch = FloatBuffer(
      count: allReadableInPlace ? 0 : (chunks.map(\.count).max() ?? 0) * d)
    for chunk in chunks {
      project(
        x, tokens: tokens, through: matrix, rows: chunk, scratch: scratch,
        into: out.pointer + chunk.lowerBound, stride: n)
    }
    return out
  }

  /// Each expert's mean over its neurons of `values[t, i] (+ bias[i])`, or of its magnitude.
  ///
  /// Sums run in double precision in neuron order, so scores do not depend on threads.
  func neuronMeans(
    _ values: UnsafePointer<Float>, tokens: Int, bias: [Float]?, magnitude: Bool
  ) -> [Float] {
    let n = weights.intermediateSize
    let experts = weights.expertCount
    var scores = [Float](repeating: 0, count: tokens * experts)
    for token in 0..<tokens {
      let row = values + token * n
      for expert in 0..<experts {
        let range = weights.expertRange(expert)
        var sum = 0.0
        for neuron in range {
          let value = Double(row[neuron]) + Double(bias?[neuron] ?? 0)
          sum += magnitude ? abs(value) : value
        }
        scores[token * experts + expert] = Float(sum / Double(max(range.count, 1)))
      }
    }
    return scores
  }
}
