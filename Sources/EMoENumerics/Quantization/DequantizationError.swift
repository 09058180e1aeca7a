import EMoECore

/// A failure to decode stored values to F32: an element type without a decoder, or byte and
/// element counts that do not match.
public struct DequantizationError: Error, Sendable, Equatable, CustomStringConvertible {
  /// What went wrong.
  public enum Kind: String, Sendable, Equatable {
    /// The element type has no F32 decoder here.
    case unsupportedType
    /// The byte count is not the size of whole blocks, or does not match the element count.
    case sizeMismatch
    /// A requested row lies outside the tensor.
    case rowOutOfRange
  }

  /// What went wrong.
  public var kind: Kind
  /// The tensor concerned, when known.
  public var tensor: String?
  /// A readable explanation.
  public var message: String

  /// Creates an error.
  public init(_ kind: Kind, tensor: String? = nil, _ message: String) {
    self.kind = kind
    self.tensor = tensor
    self.message = message
  }

  /// `tensor 'name': message`, or the message alone.
  public var description: String {
    guard let tensor else { return message }
    return "tensor '\(tensor)': \(message)"
  }
}
