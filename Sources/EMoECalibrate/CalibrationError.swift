import EMoECore

/// A problem that stops calibration: a text or tokenizer that cannot be read, a model family
/// without a whole-model runner, or a bound no layer can keep.
public struct CalibrationError: Error, Sendable, CustomStringConvertible {
  /// Whether the operating system failed (exit 1) rather than an input being wrong (exit 2).
  public var isIOFailure: Bool
  /// Where the problem is, when it comes from a file.
  public var location: ErrorLocation?
  /// What is wrong.
  public var problem: String

  /// An error about an input.
  public init(_ problem: String, location: ErrorLocation? = nil, isIOFailure: Bool = false) {
    self.problem = problem
    self.location = location
    self.isIOFailure = isIOFailure
  }

  /// `file: problem`, or the problem alone.
  public var description: String {
    guard let location else { return problem }
    return "\(location): \(problem)"
  }
}
