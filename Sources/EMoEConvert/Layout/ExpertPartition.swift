/// How the n neurons of one FFN are split into an always-active shared block and E routed
/// experts, and the order that makes every expert a contiguous block.
///
/// Position p of the converted FFN holds original neuron ``permutation``[p]. The shared block
/// (positions `[0, S)`) comes first, then the experts in index order; inside the shared block and
/// every expert, neurons keep their original relative order, so the permutation is a pure
/// function of the assignment (and the shared block's bytes of its set alone).
public struct ExpertPartition: Sendable, Equatable {
  /// Original neuron index at every position, the shared block first, then expert 0's neurons.
  public let permutation: [Int]
  /// The first position of every routed expert, plus n at the end (E + 1 values, from S).
  public let boundaries: [Int]

  /// The number of routed experts E.
  public var expertCount: Int { boundaries.count - 1 }

  /// The number of neurons n.
  public var neuronCount: Int { permutation.count }

  /// The number S of shared neurons, at positions `[0, S)`.
  public var sharedCount: Int { boundaries[0] }

  /// The neurons of expert `expert` occupy positions `range(of: expert)`.
  public func range(of expert: Int) -> Range<Int> { boundaries[expert]..<boundaries[expert + 1] }

  /// The size of every routed expert.
  public var expertSizes: [Int] { (0..<expertCount).map { range(of: $0).count } }

  /// Builds the partition from a label per neuron.
  ///
  /// - Parameters:
  ///   - assignment: the expert of every original neuron, each in `0..<expertCount`, or
  ///     ``NeuronGrouping/sharedExpert`` (-1) for a shared neuron.
  ///   - expertCount: E.
  public init(assignment: [Int], expertCount: Int) {
    // Slot 0 counts the shared neurons, slot e + 1 expert e's.
    var counts = [Int](repeating: 0, count: expertCount + 1)
    for expert in assignment { counts[expert + 1] += 1 }
    var starts = [0]
    for count in counts { starts.append(starts[starts.count - 1] + count) }
    var next = Array(starts.dropLast())
    var permutation = [Int](repeating: 0, count: assignment.count)
    for (neuron, expert) in assignment.enumerated() {
      permutation[next[expert + 1]] = neuron
      next[expert + 1] += 1
    }
    self.permutation = permutation
    self.boundaries = Array(starts.dropFirst())
  }

  /// The inverse permutation: the position of every original neuron.
  public var positions: [Int] {
    var inverse = [Int](repeating: 0, count: permutation.count)
    for (position, neuron) in permutation.enumerated() { inverse[neuron] = position }
    return inverse
  }
}
