import EMoENumerics

extension ExpertFFNWeights {
  /// The same FFN with another router (evaluation compares routers on one layout).
  ///
  /// - Throws: ``RunnerError`` when the router's E or d differ from the layout's.
  public func replacingRouter(_ router: ExpertRouter) throws(RunnerError) -> ExpertFFNWeights {
    try ExpertFFNWeights(
      form: form, activation: activation, expertBoundaries: expertBoundaries, gate: gate,
      up: up, downTransposed: downTransposed, gateBias: gateBias, upBias: upBias,
      downBias: downBias, router: router)
  }

  /// The mean of each expert's stored rows of a `[n, d]` matrix, as an `[E, d]` router.
  ///
  /// This is the average-key rule applied to the stored layout; sums run in double precision in
  /// row order.
  public func expertMeans(of matrix: EncodedRows) -> [Float] {
    let d = hiddenSize
    var means = [Float](repeating: 0, count: expertCount * d)
    var sums = [Double](repeating: 0, count: d)
    let maximum = (0..<expertCount).map { expertRange($0).count }.max() ?? 0
    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(maximum * d, 1))
    defer { scratch.deallocate() }
    for expert in 0..<expertCount {
      let rows = expertRange(expert)
      for index in sums.indices { sums[index] = 0 }
      matrix.decode(rows: rows, into: scratch)
      for row in 0..<rows.count {
        for column in 0..<d { sums[column] += Double(scratch[row * d + column]) }
      }
      let count = Double(max(rows.count, 1))
      for column in 0..<d { means[expert * d + column] = Float(sums[column] / count) }
    }
    return means
  }
}
