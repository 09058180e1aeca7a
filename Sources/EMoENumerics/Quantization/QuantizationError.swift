/// A request to quantise values whose count or destination size does not fit the format.
public struct QuantizationError: Error, Sendable, Equatable, CustomStringConvertible {
  /// A readable explanation.
  public var message: String

  /// Creates an error with `message`.
  public init(_ message: String) { self.message = message }

  /// The message.
  public var description: String { message }
}
