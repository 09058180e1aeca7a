/// A JSON text that could not be parsed, or that repeats a key inside one object.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
  /// What went wrong, in json-c's words or ours.
  public var reason: String
  /// The byte offset in the JSON text where the problem was found.
  public var offset: Int
  /// The repeated key, for a duplicate-key error.
  public var duplicateKey: String?

  /// A readable message.
  public var description: String {
    if let duplicateKey { return "duplicate key '\(duplicateKey)' at byte \(offset) of the JSON" }
    return "invalid JSON at byte \(offset): \(reason)"
  }
}
