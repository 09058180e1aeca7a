import EMoEConvert
import EMoERunner

extension NeuronGrouping {
  /// The stored order the converter writes: the shared neurons, then expert 0's, expert 1's
  /// and so on, each in ascending original index; and where each routed expert starts (E + 1
  /// boundaries, the first at the shared count).
  var storedOrder: (permutation: [Int], boundaries: [Int]) {
    var permutation = assignment.indices.filter { assignment[$0] == Self.sharedExpert }
    var boundaries = [permutation.count]
    for expert in 0..<experts {
      permutation += assignment.indices.filter { assignment[$0] == expert }
      boundaries.append(permutation.count)
    }
    return (permutation, boundaries)
  }

  /// The EMoE FFN this grouping makes of `dense`, computed as the container will compute it.
  func expertWeights(_ dense: DenseFFN) throws -> ExpertFFNWeights {
    let (permutation, boundaries) = storedOrder
    return try ExpertFFNWeights(
      permuting: dense, permutation: permutation, expertBoundaries: boundaries)
  }
}
