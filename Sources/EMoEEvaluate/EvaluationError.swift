import EMoECore

/// A problem that stops `evaluate`: a text the tokenizer cannot read, a model without a
/// whole-model runner, a `--top-k` above a layer's expert count, or a file that cannot be read.
public struct EvaluationError: Error, Sendable, CustomStringConvertible {
  /// Whether the operating system failed (exit 1) rather than an input being wrong (exit 2).
  public var isIOFailure: Bool
  /// Whether a model produced NaN or infinity (exit 8).
  public var isNonFinite: Bool
  /// Where the problem is, when it comes from a file.
  public var location: ErrorLocation?
  /// What is wrong.
  public var problem: String

  /// An error about an input.
  public init(
    _ problem: String, location: ErrorLocation? = nil, isIOFailure: Bool = false,
    isNonFinite: Bool = false
  ) {
    self.problem = problem
    self.location = location
    self.isIOFailure = isIOFailure
    self.isNonFinite = isNonFinite
  }

  /// `file: problem`, or the problem alone.
  public var description: String {
    guard let location else { return problem }
    return "\(location): \(problem)"
  }
}
