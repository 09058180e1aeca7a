import EMoEFormats

/// A grouping of one layer's neurons decided before conversion (by calibration), used in place of
/// clustering the layer's keys.
///
/// Shared neurons form an always-active block stored first; every other neuron belongs to one
/// routed expert. The converter lays the layer out from this grouping exactly as it would from a
/// clustering of keys, so a grouping and its record fully determine the output bytes.
public struct NeuronGrouping: Sendable, Equatable {
  /// The value of ``assignment`` for a shared neuron.
  public static let sharedExpert = -1

  /// The routed expert of every original neuron (`0..<experts`), or ``sharedExpert``.
  public var assignment: [Int]
  /// The number of routed experts E.
  public var experts: Int
  /// The experts each token selects in this layer, or `nil` for the conversion's top-k.
  public var topK: Int?
  /// How the routed experts were found, recorded as the layer's `clustering`.
  public var clustering: ContainerLayerRecord.Clustering

  /// The number of shared neurons.
  public var sharedCount: Int { assignment.count { $0 == Self.sharedExpert } }

  /// Creates a grouping.
  public init(
    assignment: [Int], experts: Int, topK: Int? = nil,
    clustering: ContainerLayerRecord.Clustering
  ) {
    self.assignment = assignment
    self.experts = experts
    self.topK = topK
    self.clustering = clustering
  }
}
