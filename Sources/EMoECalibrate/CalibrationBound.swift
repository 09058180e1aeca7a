/// The quality a calibrated conversion must keep on the calibration text.
public enum CalibrationBound: Sendable, Equatable {
  /// Decoders: the perplexity may rise by at most this fraction of the dense model's
  /// (`--max-ppl-increase 0.2` or `20%`).
  case maxPerplexityIncrease(Double)
  /// Encoders: the mean sentence-embedding cosine to the dense model stays at least this
  /// (`--min-cosine 0.95`).
  case minCosine(Double)

  /// Whether `value` (a perplexity or a mean cosine) keeps the bound, given the dense value.
  func holds(_ value: Double, dense: Double) -> Bool {
    guard value.isFinite else { return false }
    switch self {
    case .maxPerplexityIncrease(let fraction): return value <= dense * (1 + fraction)
    case .minCosine(let minimum): return value >= minimum
    }
  }

  /// How much quality `value` loses against the dense value, as a non-negative cost that adds
  /// up roughly across layers: the relative perplexity increase, or the cosine lost.
  func loss(_ value: Double, dense: Double) -> Double {
    guard value.isFinite else { return .infinity }
    switch self {
    case .maxPerplexityIncrease: return max(0, value / dense - 1)
    case .minCosine: return max(0, dense - value)
    }
  }

  /// The loss the bound allows.
  func allowedLoss(dense: Double) -> Double {
    switch self {
    case .maxPerplexityIncrease(let fraction): return fraction
    case .minCosine(let minimum): return max(0, dense - minimum)
    }
  }

  /// The bound as it is recorded: `{"max_ppl_increase": 0.2}` or `{"min_cosine": 0.95}`.
  var recordKey: (String, Double) {
    switch self {
    case .maxPerplexityIncrease(let fraction): ("max_ppl_increase", fraction)
    case .minCosine(let minimum): ("min_cosine", minimum)
    }
  }
}
