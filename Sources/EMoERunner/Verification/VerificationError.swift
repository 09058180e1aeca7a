import EMoECore

/// A problem that stops `verify` or `run` before a verdict: a file that cannot be read, an
/// input that is not what it should be, or options that do not fit the model.
public struct VerificationError: Error, Sendable, CustomStringConvertible {
  /// Whether the operating system failed (exit 1) rather than an input being wrong (exit 2).
  public var isIOFailure: Bool
  /// Where the problem is, when it comes from a file.
  public var location: ErrorLocation?
  /// What is wrong.
  public var problem: String

  /// Creates an error about an input.
  public init(_ problem: String, location: ErrorLocation? = nil, isIOFailure: Bool = false) {
    self.problem = problem
    self.location = location
    self.isIOFailure = isIOFailure
  }

  /// Wraps any error thrown while reading `file`; ``FileError`` counts as an I/O failure
  /// unless the file is of the wrong kind (a FIFO, a folder).
  public init(reading file: String, _ error: any Error) {
    if let error = error as? VerificationError {
      self = error
      return
    }
    let io = (error as? FileError).map { !$0.isWrongKind } ?? false
    let text = "\(error)"
    // Most format errors already name their file; avoid saying it twice.
    if text.hasPrefix(file) {
      self.init(text, isIOFailure: io)
    } else {
      self.init(text, location: ErrorLocation(file: file), isIOFailure: io)
    }
  }

  /// `file: tensor 'name': problem`, or the problem alone.
  public var description: String {
    guard let location else { return problem }
    return "\(location): \(problem)"
  }
}
