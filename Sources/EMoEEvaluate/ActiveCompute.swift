import EMoEFormats

/// The share of FFN multiply-adds an EMoE model at given top-k values still performs.
///
/// Per token, a dense FFN layer costs `m · d · n` multiply-adds (m = 3 for GLU, 2 otherwise).
/// A converted layer at k of E experts costs its S always-active shared neurons and the selected
/// experts' neurons (the k largest expert sizes: an upper bound when sizes differ by one) times
/// `m · d`, plus the router's `E · d`. The up-abs router instead projects every neuron's up row
/// (`d · n`, reused by the selected experts) plus the selected neurons' other `(m − 1) · d`.
/// Oracles (inter, inter-abs) are counted at their selected share, though they compute every
/// neuron to choose. Attention and embeddings are not counted.
public struct ActiveCompute: Sendable, Equatable {
  /// Active over dense multiply-adds in the converted layers.
  public var convertedLayers: Double
  /// Active over dense multiply-adds in every FFN layer of the model.
  public var wholeModel: Double

  /// The fractions for `container` with each layer in `topK` at its top-k, in a model of
  /// `layerCount` FFN layers; every other layer runs dense at `denseCost` (the cost of a
  /// converted layer's dense FFN).
  public init(
    container: ContainerFile, topK: [Int: Int], layerCount: Int, denseCost: Double,
    router: EvaluationRouter? = nil
  ) {
    var converted = 0.0
    var active = 0.0
    for record in container.layers {
      // Layers the setting leaves out run dense.
      guard let k = topK[record.layer] else { continue }
      let multiplier = Double(record.family == .glu ? 3 : 2) * Double(record.hiddenSize)
      let dense = multiplier * Double(record.intermediateSize)
      let neurons =
        record.sharedCount + record.expertSizes.sorted(by: >).prefix(k).reduce(0, +)
      converted += dense
      if (router ?? EvaluationRouter(record.router)).computesFullUpProjection {
        let d = Double(record.hiddenSize)
        active += d * Double(record.intermediateSize) + (multiplier - d) * Double(neurons)
      } else {
        active += multiplier * Double(neurons) + Double(record.expertCount * record.hiddenSize)
      }
    }
    let unconverted = Double(max(0, layerCount - topK.count)) * denseCost
    convertedLayers = converted > 0 ? active / converted : 1
    wholeModel = (active + unconverted) / max(converted + unconverted, 1)
  }
}
