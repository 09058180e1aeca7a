import EMoEConvert
import EMoEFormats
import EMoEModel
import EMoERunner
import EMoEVerify

/// The evidence for emergent modularity: the same layers, expert sizes and router rule, with
/// neurons assigned to experts at random instead of by clustering.
enum RandomPartition {
  /// The EMoE FFN of `record` with its neurons shuffled by a generator seeded with `seed` and
  /// the layer index, cut into a shared block of the recorded size (the first S shuffled
  /// neurons) and the recorded expert sizes, with the average-key router (and the averaged bias
  /// when the container's router has one) of those random experts.
  ///
  /// `view` is the container's dense form and `architecture` its detected architecture: the FFN
  /// there is in expert order, and a random order of those neurons is a random partition of
  /// the source's.
  static func weights(
    view: ContainerDenseView, architecture: Architecture, record: ContainerLayerRecord,
    stored: ExpertFFNWeights, seed: UInt64
  ) throws -> ExpertFFNWeights {
    let dense = try DenseFFN(try architecture.layer(record.layer, in: view))
    let n = dense.intermediateSize
    let d = dense.hiddenSize
    var generator = SplitMix64(seed: seed &+ UInt64(record.layer) &* 0x9E37_79B9)
    var permutation = Array(0..<n)
    for index in stride(from: n - 1, to: 0, by: -1) {
      permutation.swapAt(index, generator.nextIndex(below: index + 1))
    }
    // A shared block keeps its size: the first S random neurons are always active.
    var boundaries = [record.sharedCount]
    for size in record.expertSizes { boundaries.append(boundaries.last! + size) }
    let keyMatrix =
      record.routerKeys == .up || dense.gate == nil ? dense.up : dense.gate!
    let keys = keyMatrix.outputMajor().values
    let experts = record.expertSizes.count
    var averages = [Float](repeating: 0, count: experts * d)
    var biases: [Float]?
    let neuronBias = dense.form == .gated ? dense.gateBias : dense.upBias
    if stored.router.bias != nil, neuronBias != nil { biases = [] }
    for expert in 0..<experts {
      let members = permutation[boundaries[expert]..<boundaries[expert + 1]]
      var sums = [Double](repeating: 0, count: d)
      for neuron in members {
        for column in 0..<d { sums[column] += Double(keys[neuron * d + column]) }
      }
      let count = Double(max(members.count, 1))
      for column in 0..<d { averages[expert * d + column] = Float(sums[column] / count) }
      if biases != nil, let neuronBias {
        biases!.append(Float(members.reduce(0.0) { $0 + Double(neuronBias[$1]) } / count))
      }
    }
    let router = try ExpertRouter(
      weights: averages, expertCount: experts, hiddenSize: d, bias: biases)
    return try ExpertFFNWeights(
      permuting: dense, permutation: permutation, expertBoundaries: boundaries, router: router)
  }
}
