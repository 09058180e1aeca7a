/// How the n neurons of one FFN are split into E experts, and the order that makes every expert
/// a contiguous block.
///
/// Position p of the converted FFN holds original neuron ``permutation``[p]. Experts are laid out
/// in index order, and inside an expert neurons keep their original relative order, so the
/// permutation is a pure function of the assignment.
public struct ExpertPartition: Sendable, Equatable {
  /// Original neuron index at every position, expert 0's neurons first.
  public let permutation: [Int]
  /// The first position of every expert, plus n at the end (E + 1 values).
  public let boundaries: [Int]

  /// The number of experts E.
  public var expertCount: Int { boundaries.count - 1 }

  /// The number of neurons n.
  public var neuronCount: Int { permutation.count }

  /// The neurons of expert `expert` occupy positions `range(of: expert)`.
  public func range(of expert: Int) -> Range<Int> { boundaries[expert]..<boundaries[expert + 1] }

  /// The size of every expert.
  public var expertSizes: [Int] { (0..<expertCount).map { range(of: $0).count } }

  /// Builds the partition from a cluster label per neuron.
  ///
  /// - Parameters:
  ///   - assignment: the expert of every original neuron, each in `0..<expertCount`.
  ///   - expertCount: E.
  public init(assignment: [Int], expertCount: Int) {
    var counts = [Int](repeating: 0, count: expertCount)
    for expert in assignment { counts[expert] += 1 }
    var boundaries = [0]
    for count in counts { boundaries.append(boundaries[boundaries.count - 1] + count) }
    var next = Array(boundaries.dropLast())
    var permutation = [Int](repeating: 0, count: assignment.count)
    for (neuron, expert) in assignment.enumerated() {
      permutation[next[expert]] = neuron
      next[expert] += 1
    }
    self.permutation = permutation
    self.boundaries = boundaries
  }

  /// The inverse permutation: the position of every original neuron.
  public var positions: [Int] {
    var inverse = [Int](repeating: 0, count: permutation.count)
    for (position, neuron) in permutation.enumerated() { inverse[neuron] = position }
    return inverse
  }
}
