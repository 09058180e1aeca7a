/// The EMoE router: each expert's router vector is the mean of its raw (not normalised) keys.
///
/// `score_e = R[e] · x` then equals the mean pre-activation of the expert's neurons (without
/// bias); the optional router bias, the mean of b1 over the expert, makes it exact with biases.
public enum AverageKeyRouter {
  /// The router matrix `[E, d]` from keys `[n, d]` (original neuron order) and a partition.
  ///
  /// Sums run in double precision in position order, so the result does not depend on threads.
  public static func router(
    keys: UnsafeBufferPointer<Float>, dimension: Int, partition: ExpertPartition
  )
    -> [Float]
  {
    precondition(keys.count == partition.neuronCount * dimension, "keys size")
    var gate = [Float](repeating: 0, count: partition.expertCount * dimension)
    var sums = [Double](repeating: 0, count: dimension)
    for expert in 0..<partition.expertCount {
      for index in sums.indices { sums[index] = 0 }
      let range = partition.range(of: expert)
      for position in range {
        let row = partition.permutation[position] * dimension
        for column in 0..<dimension { sums[column] += Double(keys[row + column]) }
      }
      let count = Double(max(range.count, 1))
      for column in 0..<dimension {
        gate[expert * dimension + column] = Float(sums[column] / count)
      }
    }
    return gate
  }

  /// The gate bias `[E]`: the mean of b1 (original order) over each expert's neurons.
  public static func bias(b1: [Float], partition: ExpertPartition) -> [Float] {
    (0..<partition.expertCount).map { expert in
      let range = partition.range(of: expert)
      let sum = range.reduce(0.0) { $0 + Double(b1[partition.permutation[$1]]) }
      return Float(sum / Double(max(range.count, 1)))
    }
  }
}
