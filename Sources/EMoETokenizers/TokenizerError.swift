import EMoECore

/// Why a tokenizer could not be loaded, or a text could not be tokenised.
///
/// Every case names the file and, where there is one, the metadata key or JSON path and the
/// byte offset, so a user can find the problem.
public struct TokenizerError: Error, Sendable, CustomStringConvertible {
  /// What went wrong, without the location.
  public var reason: String
  /// The file, key or JSON path and byte offset concerned.
  public var location: ErrorLocation

  /// An error at `location`.
  public init(_ reason: String, location: ErrorLocation) {
    self.reason = reason
    self.location = location
  }

  /// The location, then the reason.
  public var description: String { "\(location): \(reason)" }
}
