import EMoECore

/// A batch manifest that cannot be run, found before any job starts.
///
/// It may be unreadable, not JSON, of the wrong shape, or name inputs, options or outputs that
/// do not work.
///
/// The message names the manifest, the line and column, and the key path of the problem:
/// `models/batch.json:9:7: jobs[2].top-k: must be an integer, not "4"`.
public struct BatchManifestError: Error, Sendable, Equatable, CustomStringConvertible {
  /// The manifest file, the key path (`jobs[2].top-k`) and the byte offset, where known.
  public var location: ErrorLocation
  /// The 1-based line of ``location``'s offset, where known.
  public var line: Int?
  /// The 1-based column (in characters) of ``location``'s offset, where known.
  public var column: Int?
  /// What is wrong.
  public var reason: String
  /// Whether the manifest itself could not be read (an I/O failure rather than bad content).
  public var isIOFailure: Bool

  /// Creates an error.
  public init(
    location: ErrorLocation, line: Int? = nil, column: Int? = nil, reason: String,
    isIOFailure: Bool = false
  ) {
    self.location = location
    self.line = line
    self.column = column
    self.reason = reason
    self.isIOFailure = isIOFailure
  }

  /// The key path concerned (`jobs[2].top-k`), if any.
  public var keyPath: String? { location.key }

  /// `file:line:column: key: reason`, leaving out what is unknown.
  public var description: String {
    var prefix = location.file
    if let line, let column { prefix += ":\(line):\(column)" }
    if let key = location.key, !key.isEmpty { prefix += ": \(key)" }
    return "\(prefix): \(reason)"
  }
}
