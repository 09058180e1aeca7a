/// A parsed JSON document: the value model every format header and manifest is read into.
///
/// Objects keep their members in document order, so a value written back out is deterministic.
public enum JSONValue: Sendable, Equatable {
  case null
  case bool(Bool)
  /// An integer that fits in `Int64`.
  case integer(Int64)
  /// A non-negative integer above `Int64.max` (kept so validators can report it as too large).
  case unsignedInteger(UInt64)
  case number(Double)
  case string(String)
  case array([JSONValue])
  case object([JSONMember])

  /// The member named `key` of an object, or `nil`.
  public subscript(key: String) -> JSONValue? {
    guard case .object(let members) = self else { return nil }
    return members.first { $0.key == key }?.value
  }

  /// The string, if this is a string.
  public var stringValue: String? {
    if case .string(let value) = self { return value }
    return nil
  }

  /// The integer as `Int`, if this is an integer that fits.
  public var intValue: Int? {
    if case .integer(let value) = self { return Int(exactly: value) }
    return nil
  }

  /// The number as `Double`, for integers and numbers.
  public var doubleValue: Double? {
    switch self {
    case .integer(let value): Double(value)
    case .unsignedInteger(let value): Double(value)
    case .number(let value): value
    default: nil
    }
  }

  /// The Boolean, if this is a Boolean.
  public var boolValue: Bool? {
    if case .bool(let value) = self { return value }
    return nil
  }

  /// The elements, if this is an array.
  public var arrayValue: [JSONValue]? {
    if case .array(let value) = self { return value }
    return nil
  }

  /// The members, if this is an object.
  public var objectValue: [JSONMember]? {
    if case .object(let value) = self { return value }
    return nil
  }

  /// A short name of the value's JSON type, for error messages.
  public var typeName: String {
    switch self {
    case .null: "null"
    case .bool: "boolean"
    case .integer, .unsignedInteger, .number: "number"
    case .string: "string"
    case .array: "array"
    case .object: "object"
    }
  }
}

/// One member of a JSON object.
public struct JSONMember: Sendable, Equatable {
  /// The member's key.
  public var key: String
  /// The member's value.
  public var value: JSONValue

  /// Creates a member.
  public init(_ key: String, _ value: JSONValue) {
    self.key = key
    self.value = value
  }
}
