import EMoENumerics

extension ExpertFFNWeights {
  /// Builds the canonical layout of a dense FFN in memory: position p holds original neuron
  /// `permutation[p]`, expert e owns positions `expertBoundaries[e] ..< expertBoundaries[e+1]`,
  /// and positions before `expertBoundaries[0]` form the always-active shared block.
  ///
  /// For `verify` and tests, which need an EMoE FFN without a container: W1/Wg/Wu rows and the
  /// biases are permuted, W2/Wd is transposed with its columns permuted, and the rows are
  /// encoded as `encoding`. Without a `router`, the gate is EMoE's average key (the mean of
  /// each expert's raw W1 or Wg rows, summed in double precision), with the mean of b1 over the
  /// expert as gate bias when `gateBias` is set.
  ///
  /// - Throws: ``RunnerError`` when the permutation is not one of `0..<n` or the boundaries do
  ///   not fit; ``EMoENumerics/EncodedRowsError`` when the rows cannot be encoded.
  public init(
    permuting dense: DenseFFN, permutation: [Int], expertBoundaries: [Int],
    encoding: EncodedRows.Encoding = .f32, router: ExpertRouter? = nil, gateBias: Bool = false
  ) throws {
    let n = dense.intermediateSize
    let d = dense.hiddenSize
    guard permutation.count == n, Set(permutation).count == n,
      permutation.allSatisfy({ (0..<n).contains($0) })
    else { throw RunnerError("the permutation is not an ordering of the \(n) neurons") }
    guard expertBoundaries.count >= 2, let first = expertBoundaries.first, (0..<n).contains(first),
      expertBoundaries.last == n,
      zip(expertBoundaries, expertBoundaries.dropFirst()).allSatisfy({ $0 <= $1 })
    else {
      throw RunnerError(
        "expert boundaries must rise from S (the shared neurons, 0 <= S < n) to \(n); got "
          + "\(expertBoundaries)")
    }
    func neuronRows(_ matrix: LinearWeights) -> [Float] {
      let major = matrix.outputMajor()
      var rows = [Float](repeating: 0, count: n * d)
      for (position, neuron) in permutation.enumerated() {
        for column in 0..<d { rows[position * d + column] = major.values[neuron * d + column] }
      }
      return rows
    }
    func downRows(_ matrix: LinearWeights) -> [Float] {
      var rows = [Float](repeating: 0, count: n * d)
      for (position, neuron) in permutation.enumerated() {
        for column in 0..<d {
          rows[position * d + column] =
            matrix.layout == .outputMajor
            ? matrix.values[column * n + neuron] : matrix.values[neuron * d + column]
        }
      }
      return rows
    }
    func encode(_ values: [Float], _ name: String) throws -> EncodedRows {
      try values.withUnsafeBufferPointer { buffer in
        try EncodedRows.encode(buffer, rows: n, columns: d, as: encoding, name: name)
      }
    }
    let upRows = neuronRows(dense.up)
    let gateRows = dense.gate.map(neuronRows)
    let keys = gateRows ?? upRows
    let experts = expertBoundaries.count - 1
    let resolvedRouter: ExpertRouter
    if let router {
      resolvedRouter = router
    } else {
      var averages = [Float](repeating: 0, count: experts * d)
      var sums = [Double](repeating: 0, count: d)
      for expert in 0..<experts {
        let range = expertBoundaries[expert]..<expertBoundaries[expert + 1]
        for index in sums.indices { sums[index] = 0 }
        for row in range {
          for column in 0..<d { sums[column] += Double(keys[row * d + column]) }
        }
        for column in 0..<d {
          averages[expert * d + column] = Float(sums[column] / Double(max(range.count, 1)))
        }
      }
      var biasValues: [Float]?
      if gateBias, let b1 = dense.form == .gated ? dense.gateBias : dense.upBias {
        biasValues = (0..<experts).map { expert in
          let range = expertBoundaries[expert]..<expertBoundaries[expert + 1]
          let sum = range.reduce(0.0) { $0 + Double(b1[permutation[$1]]) }
          return Float(sum / Double(max(range.count, 1)))
        }
      }
      resolvedRouter = try ExpertRouter(
        weights: averages, expertCount: experts, hiddenSize: d, bias: biasValues)
    }
    try self.init(
      form: dense.form, activation: dense.activation, expertBoundaries: expertBoundaries,
      gate: try gateRows.map { try encode($0, "gate") }, up: try encode(upRows, "up"),
      downTransposed: try encode(downRows(dense.down), "down"),
      gateBias: dense.gateBias.map { bias in permutation.map { bias[$0] } },
      upBias: dense.upBias.map { bias in permutation.map { bias[$0] } },
      downBias: dense.downBias, router: resolvedRouter)
  }
}
