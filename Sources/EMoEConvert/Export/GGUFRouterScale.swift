import Foundation

/// The power-of-two scale of one layer's router in a GGUF export at k < E, chosen so llama.cpp
/// weights the experts it selects as EMoE does (each by 1) within a stated error.
///
/// llama.cpp routes a token through `p = softmax(R · h)`, keeps the k most probable experts and
/// weights expert e by `p_e / Σ p_selected`; the export multiplies `ffn_down_exps` by k, so the
/// effective weight is `w_e = k · p_e / Σ p_selected`, which is EMoE's 1 exactly when the selected
/// probabilities are equal. Writing the router as `s · R` shrinks every logit difference by s
/// while keeping the order of the logits (a power of two scales a float exactly), so llama.cpp
/// still selects EMoE's top-k and the weights approach 1.
///
/// The FFN input is `h = γ ⊙ x̂` (the layer's `ffn_norm` RMSNorm weight γ, `‖x̂‖ ≤ √d`), so
/// any two experts' scores differ by at most
/// `B = √d · max over pairs ‖(R_a − R_b) ⊙ γ‖` (Cauchy–Schwarz). With s the largest power of
/// two not above 1 such that `s · B ≤ 1/64`, every pair of selected probabilities is within a
/// factor `e^{±δ}` (`δ = s · B`), and each weight `w_e` lies in
/// `[k / (1 + (k − 1)e^δ), k / (1 + (k − 1)e^{−δ})]`, within `e^δ − 1 ≤ 1.58 %` of 1.
///
/// What the scale does not remove: llama.cpp selects on the rounded F32 probabilities, so two
/// experts whose scores differ by less than about `6e-8 / s` can tie after `exp` and be
/// selected in index order instead of score order.
public struct GGUFRouterScale: Sendable, Equatable {
  /// The largest logit spread the scale allows, `δ ≤ 1/64`.
  public static let maximumSpread = 1.0 / 64

  /// The layer's score bound B: no two experts' scores differ by more, for any input.
  public let scoreBound: Double
  /// The router's scale s, a power of two at most 1.
  public let scale: Float

  /// The scale for a router `[E, d]` (row-major) after an RMSNorm of weight `norm` `[d]`.
  ///
  /// - Returns: `nil` when a value is not finite (no bound exists).
  public init?(router: [Float], experts: Int, norm: [Float]) {
    let d = norm.count
    guard experts > 0, d > 0, router.count == experts * d,
      router.allSatisfy(\.isFinite), norm.allSatisfy(\.isFinite)
    else { return nil }
    var largest = 0.0
    var difference = [Double](repeating: 0, count: d)
    for a in 0..<experts {
      for b in (a + 1)..<experts {
        var squares = 0.0
        for i in 0..<d {
          difference[i] = (Double(router[a * d + i]) - Double(router[b * d + i])) * Double(norm[i])
          squares += difference[i] * difference[i]
        }
        largest = max(largest, squares)
      }
    }
    let bound = (Double(d) * largest).squareRoot()
    guard bound.isFinite else { return nil }
    var scale = 1.0
    // Halving is exact; 2^-126 keeps the scaled router normal, far below any real need.
    while scale * bound > Self.maximumSpread && scale > 0x1p-100 { scale /= 2 }
    self.scoreBound = bound
    self.scale = Float(scale)
  }

  /// The largest logit difference llama.cpp can see between two experts, `δ = s · B`.
  public var spread: Double { Double(scale) * scoreBound }

  /// The largest relative difference of a selected expert's weight from EMoE's 1 at `topK`:
  /// `max(k / (1 + (k − 1)e^{−δ}) − 1, 1 − k / (1 + (k − 1)e^δ))`.
  public func weightingError(topK k: Int) -> Double {
    let others = Double(max(0, k - 1))
    let above = Double(k) / (1 + others * exp(-spread)) - 1
    let below = 1 - Double(k) / (1 + others * exp(spread))
    return max(above, below)
  }

  /// The weights `k · p_e / Σ p_selected` llama.cpp gives the `topK` selected experts for
  /// router logits `logits` (already scaled), in selection order: the computation the bound is
  /// about, for tests and reports.
  public static func llamaWeights(logits: [Double], topK k: Int) -> [(expert: Int, weight: Double)]
  {
    let top = logits.max() ?? 0
    let probabilities = logits.map { exp($0 - top) }
    let selected = probabilities.indices.sorted {
      probabilities[$0] != probabilities[$1] ? probabilities[$0] > probabilities[$1] : $0 < $1
    }.prefix(k)
    let sum = selected.reduce(0.0) { $0 + probabilities[$1] }
    return selected.map { ($0, Double(k) * probabilities[$0] / sum) }
  }
}
