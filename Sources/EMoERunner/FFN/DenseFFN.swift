import EMoENumerics

/// A dense FFN in its source layout: the plain form `y = W2 · act(W1 x + b1) + b2` or the GLU
/// form `y = Wd · (act(Wg x + bg) ⊙ (Wu x + bu)) + bd`, biases optional.
///
/// Matrices keep the orientation of the file they came from (PyTorch `[out, in]` or GPT-2's
/// transposed Conv1D), so this is the reference the EMoE forms are compared with.
public struct DenseFFN: FeedForwardBlock {
  /// Plain or gated.
  public let form: FeedForwardForm
  /// The activation: of `W1 x + b1` (plain) or of the gate `Wg x` (GLU).
  public let activation: Activation
  /// The gate matrix Wg (d → n), GLU only.
  public let gate: LinearWeights?
  /// W1 (plain) or Wu (GLU), d → n.
  public let up: LinearWeights
  /// W2 or Wd, n → d.
  public let down: LinearWeights
  /// The gate bias (GLU only), n values.
  public let gateBias: [Float]?
  /// b1 (plain) or the up bias (GLU), n values.
  public let upBias: [Float]?
  /// b2, d values.
  public let downBias: [Float]?

  /// The hidden size d.
  public var hiddenSize: Int { up.inputs }
  /// The number of neurons n.
  public var intermediateSize: Int { up.outputs }

  /// Creates an FFN after checking that the shapes agree.
  ///
  /// - Throws: ``RunnerError`` when a matrix or bias does not fit d and n, or the gate is
  ///   missing (GLU) or present (plain).
  public init(
    form: FeedForwardForm, activation: Activation, gate: LinearWeights? = nil,
    up: LinearWeights, down: LinearWeights, gateBias: [Float]? = nil, upBias: [Float]? = nil,
    downBias: [Float]? = nil
  ) throws(RunnerError) {
    let d = up.inputs
    let n = up.outputs
    guard down.inputs == n, down.outputs == d else {
      throw RunnerError(
        "the down matrix maps \(down.inputs) → \(down.outputs), expected \(n) → \(d)")
    }
    switch form {
    case .plain:
      guard gate == nil, gateBias == nil else {
        throw RunnerError("a plain FFN has no gate matrix")
      }
    case .gated:
      guard let gate else { throw RunnerError("a GLU FFN needs a gate matrix") }
      guard gate.inputs == d, gate.outputs == n else {
        throw RunnerError(
          "the gate matrix maps \(gate.inputs) → \(gate.outputs), expected \(d) → \(n)")
      }
    }
    for (name, bias, count) in [("gate", gateBias, n), ("up", upBias, n), ("down", downBias, d)] {
      if let bias, bias.count != count {
        throw RunnerError("the \(name) bias has \(bias.count) values, expected \(count)")
      }
    }
    self.form = form
    self.activation = activation
    self.gate = gate
    self.up = up
    self.down = down
    self.gateBias = gateBias
    self.upBias = upBias
    self.downBias = downBias
  }

  /// Computes the FFN for `tokens` rows of `input` into `output`.
  public func forward(
    _ input: UnsafePointer<Float>, tokens: Int, into output: UnsafeMutablePointer<Float>
  ) {
    guard tokens > 0 else { return }
    let n = intermediateSize
    let hidden = FloatBuffer(count: tokens * n)
    up.apply(input, tokens: tokens, into: hidden.pointer)
    if let upBias { RowOps.addBias(upBias, to: hidden.pointer, rows: tokens, columns: n) }
    var product = hidden
    switch form {
    case .plain:
      activation.apply(hidden.pointer, count: tokens * n)
    case .gated:
      let gated = FloatBuffer(count: tokens * n)
      gate!.apply(input, tokens: tokens, into: gated.pointer)
      if let gateBias { RowOps.addBias(gateBias, to: gated.pointer, rows: tokens, columns: n) }
      activation.applyGated(gated.pointer, times: hidden.pointer, count: tokens * n)
      product = gated
    }
    down.apply(product.pointer, tokens: tokens, into: output)
    if let downBias { RowOps.addBias(downBias, to: output, rows: tokens, columns: hiddenSize) }
  }
}
