import EMoECore
import EMoEModel
import EMoENumerics

/// A problem that stops `verify` or `run` before a verdict: a file that cannot be read, an
/// input that is not what it should be, or options that do not fit the model.
public struct VerificationError: Error, Sendable, CustomStringConvertible {
  /// Whether the operating system failed (exit 1) rather than an input being wrong (exit 2).
  public var isIOFailure: Bool
  /// Whether a tensor, an input or an output holds NaN or infinity (exit 8).
  public var isNonFinite: Bool
  /// Where the problem is, when it comes from a file.
  public var location: ErrorLocation?
  /// What is wrong.
  public var problem: String

  /// Creates an error about an input.
  public init(
    _ problem: String, location: ErrorLocation? = nil, isIOFailure: Bool = false,
    isNonFinite: Bool = false
  ) {
    self.problem = problem
    self.location = location
    self.isIOFailure = isIOFailure
    self.isNonFinite = isNonFinite
  }

  /// An error about the first NaN or infinity of a tensor read from `file`; `what` says what
  /// the tensor is (`layer 1 router`, `input`, `output of layer 1`).
  public init(nonFinite value: NonFiniteValue, file: String, what: String) {
    self.init(
      "\(what) holds \(value)", location: value.location(file: file), isNonFinite: true)
  }

  /// Wraps any error thrown while reading `file`; ``FileError`` counts as an I/O failure
  /// unless the file is of the wrong kind (a FIFO, a folder).
  public init(reading file: String, _ error: any Error) {
    if let error = error as? VerificationError {
      self = error
      return
    }
    let io = (error as? FileError).map { !$0.isWrongKind } ?? false
    var nonFinite = false
    switch error as? ModelError {
    case .nonFinite, .nonFiniteValue: nonFinite = true
    default: break
    }
    let text = "\(error)"
    // Most format errors already name their file; avoid saying it twice.
    if text.hasPrefix(file) {
      self.init(text, isIOFailure: io, isNonFinite: nonFinite)
    } else {
      self.init(
        text, location: ErrorLocation(file: file), isIOFailure: io, isNonFinite: nonFinite)
    }
  }

  /// `file: tensor 'name': problem`, or the problem alone.
  public var description: String {
    guard let location else { return problem }
    return "\(location): \(problem)"
  }
}
