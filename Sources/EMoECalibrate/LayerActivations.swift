import EMoERunner

/// One layer's intermediate activations on the calibration text: `[tokens, n]`, the values its
/// output matrix multiplies.
struct LayerActivations: Sendable {
  /// The row-major values, one row per token.
  let values: [Float]
  /// The number of calibration tokens.
  let tokens: Int
  /// The number of neurons n.
  let neurons: Int

  /// The activations of `ffn` on the recorded input rows.
  init(ffn: DenseFFN, inputs: [Float]) {
    let tokens = inputs.count / max(ffn.hiddenSize, 1)
    self.tokens = tokens
    neurons = ffn.intermediateSize
    values = inputs.withUnsafeBufferPointer { buffer in
      guard let base = buffer.baseAddress else { return [] }
      return ffn.intermediate(base, tokens: tokens)
    }
  }

  /// The mean absolute activation of every neuron, summed in double precision in token order.
  var meanMagnitudes: [Double] {
    var sums = [Double](repeating: 0, count: neurons)
    values.withUnsafeBufferPointer { all in
      for token in 0..<tokens {
        let row = token * neurons
        for neuron in 0..<neurons { sums[neuron] += Double(abs(all[row + neuron])) }
      }
    }
    return sums.map { $0 / Double(max(tokens, 1)) }
  }

  /// The activation pattern of each of `neurons` as a row over the calibration tokens:
  /// `[neurons.count, tokens]` row-major, for clustering neurons that fire together.
  func patterns(of selected: [Int]) -> [Float] {
    var rows = [Float](repeating: 0, count: selected.count * tokens)
    values.withUnsafeBufferPointer { all in
      for (index, neuron) in selected.enumerated() {
        let base = index * tokens
        for token in 0..<tokens { rows[base + token] = all[token * neurons + neuron] }
      }
    }
    return rows
  }
}
