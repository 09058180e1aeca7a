/// A JSON text that could not be parsed, or that repeats a key inside one object.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
  /// What went wrong, in json-c's words or ours.
  public var reason: String
  /// The byte offset in the JSON text where the problem was found.
  public var offset: Int
  /// The repeated key, for a duplicate-key error.
  public var duplicateKey: String?
  /// Whether the root object has more members than the caller allows (a limit, not a grammar
  /// error: the text before the limit was valid).
  public var isMemberLimit = false

  /// Creates an error.
  public init(reason: String, offset: Int, duplicateKey: String? = nil) {
    self.reason = reason
    self.offset = offset
    self.duplicateKey = duplicateKey
  }

  /// A readable message.
  public var description: String {
    if let duplicateKey { return "duplicate key '\(duplicateKey)' at byte \(offset) of the JSON" }
    return "invalid JSON at byte \(offset): \(reason)"
  }
}
