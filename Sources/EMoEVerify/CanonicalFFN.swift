import EMoEModel
import EMoENumerics
import EMoERunner

/// An FFN held as plain F32 matrices in canonical neuron-major form, computed directly.
///
/// Every matrix is `[n, d]` (the down matrix transposed); a pass is full products, then a
/// per-neuron mask. It is the verifier's own reference, independent of the runner's expert blocks and
/// routing, and it exposes the intermediate values the quantisation bound needs.
struct CanonicalFFN: Sendable {
  /// The intermediate values of one forward pass.
  struct Pass {
    /// `W1 x + b1` (plain) or `Wu x + bu` (GLU), `[T, n]`.
    var up: [Float]
    /// `Wg x + bg` (GLU only), `[T, n]`.
    var gate: [Float]?
    /// The hidden activations `act(up)` or `act(gate) ⊙ up`, `[T, n]`.
    var hidden: [Float]
  }

  let form: FeedForwardForm
  let activation: Activation
  let hiddenSize: Int
  let intermediateSize: Int
  let gate: [Float]?
  let up: [Float]
  let down: [Float]
  let gateBias: [Float]?
  let upBias: [Float]?
  let downBias: [Float]?

  /// The canonical matrices of a source layer, read through ``EMoEModel/LayerFFN``.
  init(_ ffn: LayerFFN) throws {
    func optional(_ role: FFNRole) throws -> [Float]? {
      ffn.member(role) == nil ? nil : try ffn.floats(role)
    }
    form = ffn.isGLU ? .gated : .plain
    activation = Activation(ffn.activation)
    hiddenSize = ffn.hiddenSize
    intermediateSize = ffn.intermediateSize
    if ffn.isGLU {
      gate = try ffn.floats(.gate)
      up = try ffn.floats(.up)
      down = try ffn.floats(.down)
      gateBias = try optional(.gateBias)
      upBias = try optional(.upBias)
      downBias = try optional(.downBias)
    } else {
      gate = nil
      up = try ffn.floats(.w1)
      down = try ffn.floats(.w2)
      gateBias = nil
      upBias = try optional(.b1)
      downBias = try optional(.b2)
    }
  }

  /// Every row of an EMoE layout decoded to F32 (its expert boundaries play no part).
  init(_ weights: ExpertFFNWeights) {
    func decoded(_ rows: EncodedRows) -> [Float] {
      var values = [Float](repeating: 0, count: rows.rows * rows.columns)
      values.withUnsafeMutableBufferPointer { buffer in
        if let base = buffer.baseAddress { rows.decode(rows: 0..<rows.rows, into: base) }
      }
      return values
    }
    form = weights.form
    activation = weights.activation
    hiddenSize = weights.hiddenSize
    intermediateSize = weights.intermediateSize
    gate = weights.gate.map(decoded)
    up = decoded(weights.up)
    down = decoded(weights.downTransposed)
    gateBias = weights.gateBias
    upBias = weights.upBias
    downBias = weights.downBias
  }

  /// The pre-activations and hidden activations of `tokens` rows of `x`.
  func pass(_ x: [Float], tokens: Int) -> Pass {
    let n = intermediateSize
    let upOut = project(x, tokens: tokens, through: up, bias: upBias)
    guard let gate else {
      var hidden = upOut
      hidden.withUnsafeMutableBufferPointer { activation.apply($0.baseAddress!, count: tokens * n) }
      return Pass(up: upOut, gate: nil, hidden: hidden)
    }
    let gateOut = project(x, tokens: tokens, through: gate, bias: gateBias)
    var hidden = gateOut
    hidden.withUnsafeMutableBufferPointer { h in
      upOut.withUnsafeBufferPointer { u in
        activation.applyGated(h.baseAddress!, times: u.baseAddress!, count: tokens * n)
      }
    }
    return Pass(up: upOut, gate: gateOut, hidden: hidden)
  }

  /// `y = hidden · down + b2` for `[T, n]` hidden activations, after multiplying each by
  /// `neuronMask` (`[T, n]`) when given.
  func output(hidden: [Float], tokens: Int, neuronMask: [Float]? = nil) -> [Float] {
    let n = intermediateSize
    let d = hiddenSize
    var masked = hidden
    if let neuronMask {
      for index in masked.indices { masked[index] *= neuronMask[index] }
    }
    var y = [Float](repeating: 0, count: tokens * d)
    guard tokens > 0 else { return y }
    masked.withUnsafeBufferPointer { h in
      down.withUnsafeBufferPointer { w in
        y.withUnsafeMutableBufferPointer { out in
          BLAS.sgemm(
            .none, .none, m: tokens, n: d, k: n, a: h.baseAddress!, lda: n, b: w.baseAddress!,
            ldb: d, c: out.baseAddress!, ldc: d)
        }
      }
    }
    if let downBias {
      for token in 0..<tokens {
        for column in 0..<d { y[token * d + column] += downBias[column] }
      }
    }
    return y
  }

  /// `x · matrixᵀ + bias` for a `[n, d]` matrix.
  private func project(_ x: [Float], tokens: Int, through matrix: [Float], bias: [Float]?)
    -> [Float]
  {
    let n = intermediateSize
    let d = hiddenSize
    var out = [Float](repeating: 0, count: tokens * n)
    guard tokens > 0 else { return out }
    x.withUnsafeBufferPointer { a in
      matrix.withUnsafeBufferPointer { b in
        out.withUnsafeMutableBufferPointer { c in
          BLAS.sgemm(
            .none, .transposed, m: tokens, n: n, k: d, a: a.baseAddress!, lda: d,
            b: b.baseAddress!, ldb: d, c: c.baseAddress!, ldc: n)
        }
      }
    }
    if let bias {
      for token in 0..<tokens {
        for neuron in 0..<n { out[token * n + neuron] += bias[neuron] }
      }
    }
    return out
  }
}
