import EMoEFormats

extension ContainerLayerRecord.KeySource {
  /// The source FFN role whose rows were the clustered keys; for ``activations``, which are
  /// no matrix, the gate (use ``EMoEFormats/ContainerLayerRecord/routerKeys`` for the role a
  /// record's router averages, W1 in a plain FFN).
  public var ffnRole: FFNRole {
    switch self {
    case .w1: .w1
    case .gate, .activations: .gate
    case .up: .up
    }
  }

  /// The key source of a layer clustered on `role`'s rows, or `nil` for a role that is never
  /// keys (the inverse of ``ffnRole``).
  public init?(_ role: FFNRole) {
    guard let source = Self.allCases.first(where: { $0.ffnRole == role }) else { return nil }
    self = source
  }
}
