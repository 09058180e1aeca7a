/// Why an output path is refused before anything is written to it.
///
/// It is not a regular file, it is write-protected, or it is (or resolves to) one of the
/// command's inputs or another of its outputs. Commands report it with exit code 2, and the file named is left untouched.
public struct OutputRefusal: Error, Sendable, Equatable, CustomStringConvertible {
  /// The output path as the user gave it.
  public var path: String
  /// Why it is refused, as a phrase that follows the path.
  public var reason: String

  /// Creates a refusal of `path` for `reason`.
  public init(path: String, reason: String) {
    self.path = path
    self.reason = reason
  }

  /// A message such as `/dev/null: is a character device, not a regular file; ...`.
  public var description: String { "\(path): \(reason)" }
}
