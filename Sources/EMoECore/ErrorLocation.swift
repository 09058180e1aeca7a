/// Where in a file a problem was found: the file, the tensor or key, and the byte offset.
///
/// Every format error carries one, so messages read the same way everywhere:
/// `model.safetensors: tensor 'w' (byte 1032): data_offsets end past the data`.
public struct ErrorLocation: Sendable, Equatable, CustomStringConvertible {
  /// The file's path as the user gave it.
  public var file: String
  /// The tensor concerned, if any.
  public var tensor: String?
  /// The metadata key concerned, if any.
  public var key: String?
  /// The byte offset in the file, if known.
  public var offset: Int?

  /// Creates a location.
  public init(file: String, tensor: String? = nil, key: String? = nil, offset: Int? = nil) {
    self.file = file
    self.tensor = tensor
    self.key = key
    self.offset = offset
  }

  /// `file: tensor 'name' key 'k' (byte N)`, leaving out what is unknown.
  public var description: String {
    var parts: [String] = []
    if let tensor { parts.append("tensor '\(tensor)'") }
    if let key { parts.append("key '\(key)'") }
    if let offset { parts.append("(byte \(offset))") }
    return parts.isEmpty ? file : "\(file): " + parts.joined(separator: " ")
  }
}
