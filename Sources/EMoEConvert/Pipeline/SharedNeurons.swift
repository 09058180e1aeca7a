/// How many neurons of each converted layer form the always-active shared block
/// (`--shared-neurons N` or `--shared-neurons P%`), chosen on calibration text.
///
/// The option is recorded as given: a count stays a count and a percentage a fraction, so the
/// container's `options` says what was asked, and ``count(neurons:)`` resolves it per layer.
public enum SharedNeurons: Sendable, Hashable, CustomStringConvertible {
  /// Exactly this many shared neurons in every layer.
  case count(Int)
  /// This fraction (0 ≤ f < 1) of each layer's n, rounded down.
  case fraction(Double)

  /// Parses `N` (an integer ≥ 0) or `P%` (a number with 0 ≤ P < 100); `nil` when `text` is
  /// neither.
  public init?(_ text: String) {
    if text.hasSuffix("%") {
      guard let percent = Double(text.dropLast()), percent.isFinite, percent >= 0, percent < 100
      else { return nil }
      self = .fraction(percent / 100)
    } else {
      guard let count = Int(text), count >= 0 else { return nil }
      self = .count(count)
    }
  }

  /// The option's spelling: `N` or `P%`.
  public var description: String {
    switch self {
    case .count(let count): String(count)
    case .fraction(let fraction): Self.percentText(fraction * 100) + "%"
    }
  }

  /// The number of shared neurons in a layer of `n` neurons.
  public func count(neurons n: Int) -> Int {
    switch self {
    case .count(let count): count
    case .fraction(let fraction): Int((fraction * Double(n)).rounded(.down))
    }
  }

  /// A percentage without a trailing `.0` (`12.5`, `10`).
  private static func percentText(_ percent: Double) -> String {
    percent == percent.rounded() && abs(percent) < 1e15
      ? String(Int(percent)) : String(percent)
  }
}
