/// How a converted layer scores its experts (Formats/EMoE.md revision 1.2, the layer record's
/// `router` member; absent means ``averageKey``).
///
/// Every kind scores expert e as the mean, over the expert's neurons, of one intermediate vector
/// (EMoE's reference code, `moe_models.py`): ``averageKey`` of `Wk x` (the clustered key matrix),
/// ``up`` of `Wu x`, ``upAbs`` of `|Wu x + bu|`.
public enum RouterKind: String, Sendable, Hashable, CaseIterable {
  /// The mean of the expert's rows of the clustered key matrix, stored as the `router` tensor.
  case averageKey = "average_key"
  /// The mean of the expert's Wu rows, stored as the `router` tensor (GLU only).
  case up
  /// The mean of `|(Wu x + bu)_i|` over the expert's neurons, computed from the stored Wu rows;
  /// no `router` tensor is stored (GLU only).
  case upAbs = "up_abs"

  /// The spelling of the kind on the command line (`average-key`, `up`, `up-abs`).
  public var argumentName: String { rawValue.replacingOccurrences(of: "_", with: "-") }

  /// The kind spelled `name` on the command line.
  public init?(argumentName name: String) {
    guard let kind = Self.allCases.first(where: { $0.argumentName == name }) else { return nil }
    self = kind
  }

  /// Whether the kind stores a `[E, d]` `router` tensor (and may store a `router_bias`).
  public var storesRouterMatrix: Bool { self != .upAbs }

  /// Whether the kind needs a gated (GLU) FFN, which has a separate up matrix.
  public var needsGLU: Bool { self != .averageKey }
}
