import EMoEConvert
import EMoEFormats
import EMoERunner

/// Groups one layer's neurons from what calibration saw: the shared block first, then balanced
/// experts of the rest, clustered by key direction or by activation pattern.
struct NeuronGrouper: Sendable {
  /// The number of routed experts E.
  var experts: Int
  /// Whether expert sizes may differ by one.
  var allowUneven: Bool
  /// The clustering's seed.
  var seed: Int
  /// The clustering's restarts, or `nil` to pick by size.
  var restarts: Int?
  /// Whether to cluster activation patterns on the calibration text instead of keys.
  var onActivations: Bool
  /// Which GLU matrix's rows are the keys when clustering keys.
  var keysFromUp: Bool

  /// The shared neurons of a layer: the `count` with the largest mean absolute activation on
  /// the calibration text (ties to the lower index), in ascending index order.
  static func sharedNeurons(_ activations: LayerActivations, count: Int) -> [Int] {
    let magnitudes = activations.meanMagnitudes
    let ranked = magnitudes.indices.sorted {
      magnitudes[$0] != magnitudes[$1] ? magnitudes[$0] > magnitudes[$1] : $0 < $1
    }
    return ranked.prefix(count).sorted()
  }

  /// The grouping of `layer`: `shared` always active, every other neuron in one of E experts.
  func group(
    layer: Int, dense: DenseFFN, activations: LayerActivations?, shared: [Int]
  ) throws(CalibrationError) -> NeuronGrouping {
    let n = dense.intermediateSize
    let sharedSet = Set(shared)
    let routed = (0..<n).filter { !sharedSet.contains($0) }
    let rows: [Float]
    let dimension: Int
    let keySource: ContainerLayerRecord.KeySource
    if onActivations {
      guard let activations else {
        throw CalibrationError("layer \(layer): clustering by activations needs calibration text")
      }
      rows = activations.patterns(of: routed)
      dimension = activations.tokens
      keySource = .activations
    } else {
      let matrix = (dense.gate == nil || keysFromUp ? dense.up : dense.gate!).outputMajor()
      let d = dense.hiddenSize
      var selected = [Float](repeating: 0, count: routed.count * d)
      for (index, neuron) in routed.enumerated() {
        for column in 0..<d { selected[index * d + column] = matrix.values[neuron * d + column] }
      }
      rows = selected
      dimension = d
      keySource = dense.gate == nil ? .w1 : (keysFromUp ? .up : .gate)
    }
    let options = BalancedKMeans.Options(
      experts: experts, allowUneven: allowUneven, restarts: restarts, seed: UInt64(seed))
    let clustering: Clustering
    do {
      clustering = try BalancedKMeans(options: options).fit(
        keys: rows, count: routed.count, dimension: dimension)
    } catch {
      throw CalibrationError(
        "layer \(layer): clustering \(routed.count) routed neurons into \(experts) experts: "
          + "\(error)")
    }
    var assignment = [Int](repeating: NeuronGrouping.sharedExpert, count: n)
    for (index, neuron) in routed.enumerated() { assignment[neuron] = clustering.assignment[index] }
    return NeuronGrouping(
      assignment: assignment, experts: experts,
      clustering: ContainerLayerRecord.Clustering(
        method: "balanced_kmeans", keys: keySource, seed: seed,
        restarts: clustering.restartSSE.count, iterations: clustering.iterations,
        sse: clustering.sse))
  }
}
