import EMoEFormats
import EMoERunner

/// A router `evaluate --router` measures: the three a container can store, and two oracles that
/// compute every neuron (upper bounds that save nothing).
public enum EvaluationRouter: String, Sendable, Hashable, CaseIterable {
  /// The mean of the expert's stored rows of the clustered key matrix.
  case averageKey = "average-key"
  /// The mean of the expert's stored Wu rows.
  case up
  /// The mean of `|Wu x + bu|` over the expert's neurons.
  case upAbs = "up-abs"
  /// The mean of the expert's activations `act(Wg x) ⊙ (Wu x)`: an oracle.
  case inter
  /// The mean of the magnitudes of the expert's activations: an oracle.
  case interAbs = "inter-abs"

  /// The router a container records.
  public init(_ kind: RouterKind) {
    switch kind {
    case .averageKey: self = .averageKey
    case .up: self = .up
    case .upAbs: self = .upAbs
    }
  }

  /// Whether the router computes every neuron to choose (an upper bound, not a saving).
  public var isOracle: Bool { self == .inter || self == .interAbs }

  /// Whether the router needs a GLU FFN's separate up matrix.
  public var needsGLU: Bool { self == .up || self == .upAbs }

  /// Whether routing computes the full up projection (counted in the active fraction).
  var computesFullUpProjection: Bool { self == .upAbs }

  /// The stored router kind this is, if any.
  var storedKind: RouterKind? {
    switch self {
    case .averageKey: .averageKey
    case .up: .up
    case .upAbs: .upAbs
    case .inter, .interAbs: nil
    }
  }

  /// `stored` (a layer's FFN as its container stores it) routed by this router: the stored
  /// router when the record's kind is this one, otherwise scores from the stored matrices.
  func weights(_ stored: ExpertFFNWeights, record: ContainerLayerRecord) throws
    -> ExpertFFNWeights
  {
    if storedKind == record.router { return stored }
    let experts = stored.expertCount
    let d = stored.hiddenSize
    switch self {
    case .averageKey:
      let keys = record.clustering.keys == .gate ? stored.gate ?? stored.up : stored.up
      return try stored.replacingRouter(
        ExpertRouter(weights: stored.expertMeans(of: keys), expertCount: experts, hiddenSize: d))
    case .up:
      return try stored.replacingRouter(
        ExpertRouter(
          weights: stored.expertMeans(of: stored.up), expertCount: experts, hiddenSize: d))
    case .upAbs:
      return try stored.replacingRouter(
        ExpertRouter(scoring: .upAbs, expertCount: experts, hiddenSize: d))
    case .inter:
      return try stored.replacingRouter(
        ExpertRouter(scoring: .inter, expertCount: experts, hiddenSize: d))
    case .interAbs:
      return try stored.replacingRouter(
        ExpertRouter(scoring: .interAbs, expertCount: experts, hiddenSize: d))
    }
  }
}
