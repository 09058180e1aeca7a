import EMoEFormats

/// What a router scores experts on: expert e's score is the mean, over its neurons, of one
/// intermediate vector (EMoE's reference code, `moe_models.py`).
///
/// ``matrix`` is a product with a stored `[E, d]` matrix (the average-key and up routers: the
/// mean of rows times x equals the mean of the rows' products with x). The others need the FFN's
/// own matrices: ``upAbs`` the full up projection, ``inter`` and ``interAbs`` every neuron's
/// activation (oracles for evaluation, which save nothing).
public enum ExpertScoring: String, Sendable, Hashable, CaseIterable {
  /// `G x + b` with the router matrix G (average-key or up router).
  case matrix
  /// `mean_i |(Wu x + bu)_i|` over the expert's neurons.
  case upAbs = "up_abs"
  /// `mean_i h_i` with `h = act(Wg x + bg) ⊙ (Wu x + bu)` (or `act(W1 x + b1)`): an oracle.
  case inter
  /// `mean_i |h_i|`: an oracle.
  case interAbs = "inter_abs"

  /// The scoring a stored router kind uses at run time.
  public init(_ kind: RouterKind) {
    self = kind == .upAbs ? .upAbs : .matrix
  }

  /// Whether scoring needs every neuron's up projection.
  public var needsFullProjection: Bool { self != .matrix }

  /// Whether the scores are magnitudes.
  var takesMagnitude: Bool { self == .upAbs || self == .interAbs }
}
