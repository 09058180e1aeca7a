extension DenseFFN {
  /// The intermediate vector `act(W1 x + b1)` (plain) or `act(Wg x + bg) ⊙ (Wu x + bu)` (GLU)
  /// of `tokens` rows of `input`: `[tokens, n]`, row-major, before the output matrix.
  ///
  /// Calibration reads these to find the neurons a text uses; the values are the ones
  /// ``forward(_:tokens:into:)`` multiplies by the output matrix.
  public func intermediate(_ input: UnsafePointer<Float>, tokens: Int) -> [Float] {
    let n = intermediateSize
    guard tokens > 0 else { return [] }
    let hidden = FloatBuffer(count: tokens * n)
    up.apply(input, tokens: tokens, into: hidden.pointer)
    if let upBias { RowOps.addBias(upBias, to: hidden.pointer, rows: tokens, columns: n) }
    switch form {
    case .plain:
      activation.apply(hidden.pointer, count: tokens * n)
      return hidden.array
    case .gated:
      let gated = FloatBuffer(count: tokens * n)
      gate!.apply(input, tokens: tokens, into: gated.pointer)
      if let gateBias { RowOps.addBias(gateBias, to: gated.pointer, rows: tokens, columns: n) }
      activation.applyGated(gated.pointer, times: hidden.pointer, count: tokens * n)
      return gated.array
    }
  }
}
