/// Decodes `Decodable` values from a ``JSONValue``.
///
/// Errors are `DecodingError`s whose coding path names the member or element at fault;
/// ``keyPath(_:)`` spells it the way emoe-pack's messages do (`layers[0].clustering.keys`). A
/// ``JSONValue`` property receives the subtree as it is. Integers are read from JSON integers,
/// and from numbers such as `2.0` that hold one exactly (JSON Schema counts them as integers)
/// unless ``acceptsIntegralNumbers`` is off.
public struct JSONValueDecoder: Sendable {
  /// Whether a number with an integral value (`2.0`) decodes as an integer.
  public var acceptsIntegralNumbers = true

  /// Creates a decoder.
  public init() {}

  /// Decodes a `T` from `json`.
  public func decode<T: Decodable>(_ type: T.Type, from json: JSONValue) throws -> T {
    try JSONValueDecoding(value: json, codingPath: [], options: self).decode(type)
  }

  /// `path` as `a.b[2].c`, the root as `""`.
  public static func keyPath(_ path: [any CodingKey]) -> String {
    var text = ""
    for key in path {
      if let index = key.intValue {
        text += "[\(index)]"
      } else {
        text += text.isEmpty ? key.stringValue : "." + key.stringValue
      }
    }
    return text
  }
}

/// A coding key made from any string, for reading objects whose keys are data.
public struct JSONKey: CodingKey, Sendable {
  public var stringValue: String
  public var intValue: Int? { nil }

  /// Creates a key.
  public init(_ string: String) { stringValue = string }
  public init?(stringValue: String) { self.stringValue = stringValue }
  public init?(intValue: Int) { nil }
}

struct JSONValueDecoding: Decoder {
  let value: JSONValue
  var codingPath: [any CodingKey]
  let options: JSONValueDecoder
  var userInfo: [CodingUserInfoKey: Any] { [:] }

  func decode<T: Decodable>(_ type: T.Type) throws -> T {
    if type == JSONValue.self, let json = value as? T { return json }
    return try T(from: self)
  }

  /// A type mismatch whose description reads `must be <expected>` (emoe-pack's wording).
  func mismatch(_ type: Any.Type, _ expected: String) -> DecodingError {
    .typeMismatch(
      type, DecodingError.Context(codingPath: codingPath, debugDescription: "must be " + expected))
  }

  func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
    guard case .object(let members) = value else {
      throw mismatch([String: Any].self, "an object")
    }
    return KeyedDecodingContainer(Keyed<Key>(members: members, decoder: self))
  }

  func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
    guard case .array(let elements) = value else { throw mismatch([Any].self, "an array") }
    return Unkeyed(elements: elements, decoder: self)
  }

  func singleValueContainer() throws -> any SingleValueDecodingContainer { Single(decoder: self) }

  func child(_ value: JSONValue, _ key: any CodingKey) -> JSONValueDecoding {
    JSONValueDecoding(value: value, codingPath: codingPath + [key], options: options)
  }

  // MARK: Scalars

  func bool() throws -> Bool {
    guard case .bool(let bool) = value else { throw mismatch(Bool.self, "true or false") }
    return bool
  }

  func string() throws -> String {
    guard case .string(let string) = value else { throw mismatch(String.self, "a string") }
    return string
  }

  func double() throws -> Double {
    guard let number = value.doubleValue else { throw mismatch(Double.self, "a number") }
    return number
  }

  func integer<I: FixedWidthInteger>(_ type: I.Type) throws -> I {
    let result: I?
    switch value {
    case .integer(let number): result = I(exactly: number)
    case .unsignedInteger(let number): result = I(exactly: number)
    case .number(let number) where options.acceptsIntegralNumbers: result = I(exactly: number)
    default: throw mismatch(type, "an integer")
    }
    guard let result else {
      throw DecodingError.dataCorrupted(
        DecodingError.Context(
          codingPath: codingPath, debugDescription: "\(value.serialized()) does not fit \(type)"))
    }
    return result
  }

  struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [JSONMember]
    let decoder: JSONValueDecoding
    var codingPath: [any CodingKey] { decoder.codingPath }
    var allKeys: [Key] { members.compactMap { Key(stringValue: $0.key) } }

    func contains(_ key: Key) -> Bool { members.contains { $0.key == key.stringValue } }

    func child(_ key: Key) throws -> JSONValueDecoding {
      guard let member = members.first(where: { $0.key == key.stringValue }) else {
        throw DecodingError.keyNotFound(
          key,
          DecodingError.Context(
            codingPath: codingPath, debugDescription: "missing member '\(key.stringValue)'"))
      }
      return decoder.child(member.value, key)
    }

    func decodeNil(forKey key: Key) throws -> Bool {
      if case .null = try child(key).value { return true }
      return false
    }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try child(key).bool() }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try child(key).string() }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try child(key).double() }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float {
      Float(try child(key).double())
    }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try child(key).integer(type) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try child(key).integer(type) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 {
      try child(key).integer(type)
    }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 {
      try child(key).integer(type)
    }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 {
      try child(key).integer(type)
    }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try child(key).integer(type) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 {
      try child(key).integer(type)
    }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 {
      try child(key).integer(type)
    }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 {
      try child(key).integer(type)
    }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 {
      try child(key).integer(type)
    }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
      try child(key).decode(type)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key)
      throws -> KeyedDecodingContainer<NestedKey>
    {
      try child(key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
      try child(key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { decoder }
    func superDecoder(forKey key: Key) throws -> any Decoder { try child(key) }
  }

  struct Unkeyed: UnkeyedDecodingContainer {
    let elements: [JSONValue]
    let decoder: JSONValueDecoding
    var currentIndex = 0
    var codingPath: [any CodingKey] { decoder.codingPath }
    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    init(elements: [JSONValue], decoder: JSONValueDecoding) {
      self.elements = elements
      self.decoder = decoder
    }

    mutating func next() throws -> JSONValueDecoding {
      guard !isAtEnd else {
        throw DecodingError.valueNotFound(
          JSONValue.self,
          DecodingError.Context(codingPath: codingPath, debugDescription: "no more elements"))
      }
      defer { currentIndex += 1 }
      return decoder.child(elements[currentIndex], JSONIndexKey(currentIndex))
    }

    mutating func decodeNil() throws -> Bool {
      guard !isAtEnd, case .null = elements[currentIndex] else { return false }
      currentIndex += 1
      return true
    }
    mutating func decode(_ type: Bool.Type) throws -> Bool { try next().bool() }
    mutating func decode(_ type: String.Type) throws -> String { try next().string() }
    mutating func decode(_ type: Double.Type) throws -> Double { try next().double() }
    mutating func decode(_ type: Float.Type) throws -> Float { Float(try next().double()) }
    mutating func decode(_ type: Int.Type) throws -> Int { try next().integer(type) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try next().integer(type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try next().integer(type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try next().integer(type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next().integer(type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try next().integer(type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next().integer(type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next().integer(type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next().integer(type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next().integer(type) }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next().decode(type) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
      -> KeyedDecodingContainer<NestedKey>
    {
      try next().container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
      try next().unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder { try next() }
  }

  struct Single: SingleValueDecodingContainer {
    let decoder: JSONValueDecoding
    var codingPath: [any CodingKey] { decoder.codingPath }

    func decodeNil() -> Bool {
      if case .null = decoder.value { return true }
      return false
    }
    func decode(_ type: Bool.Type) throws -> Bool { try decoder.bool() }
    func decode(_ type: String.Type) throws -> String { try decoder.string() }
    func decode(_ type: Double.Type) throws -> Double { try decoder.double() }
    func decode(_ type: Float.Type) throws -> Float { Float(try decoder.double()) }
    func decode(_ type: Int.Type) throws -> Int { try decoder.integer(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try decoder.integer(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try decoder.integer(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try decoder.integer(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try decoder.integer(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try decoder.integer(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try decoder.integer(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try decoder.integer(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try decoder.integer(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try decoder.integer(type) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoder.decode(type) }
  }
}

extension JSONValue: Codable {
  /// Decodes any JSON value (``JSONValueDecoder`` hands the subtree over unchanged).
  public init(from decoder: any Decoder) throws {
    if let decoding = decoder as? JSONValueDecoding {
      self = decoding.value
      return
    }
    if let container = try? decoder.container(keyedBy: JSONKey.self) {
      var members: [JSONMember] = []
      for key in container.allKeys {
        members.append(
          JSONMember(key.stringValue, try container.decode(JSONValue.self, forKey: key)))
      }
      self = .object(members)
    } else if var container = try? decoder.unkeyedContainer() {
      var elements: [JSONValue] = []
      while !container.isAtEnd { elements.append(try container.decode(JSONValue.self)) }
      self = .array(elements)
    } else {
      let single = try decoder.singleValueContainer()
      if single.decodeNil() {
        self = .null
      } else if let bool = try? single.decode(Bool.self) {
        self = .bool(bool)
      } else if let integer = try? single.decode(Int64.self) {
        self = .integer(integer)
      } else if let integer = try? single.decode(UInt64.self) {
        self = .unsignedInteger(integer)
      } else if let number = try? single.decode(Double.self) {
        self = .number(number)
      } else {
        self = .string(try single.decode(String.self))
      }
    }
  }

  /// Encodes the value as it is.
  public func encode(to encoder: any Encoder) throws {
    switch self {
    case .null:
      var container = encoder.singleValueContainer()
      try container.encodeNil()
    case .bool(let value):
      var container = encoder.singleValueContainer()
      try container.encode(value)
    case .integer(let value):
      var container = encoder.singleValueContainer()
      try container.encode(value)
    case .unsignedInteger(let value):
      var container = encoder.singleValueContainer()
      try container.encode(value)
    case .number(let value):
      var container = encoder.singleValueContainer()
      try container.encode(value)
    case .string(let value):
      var container = encoder.singleValueContainer()
      try container.encode(value)
    case .array(let elements):
      var container = encoder.unkeyedContainer()
      for element in elements { try container.encode(element) }
    case .object(let members):
      var container = encoder.container(keyedBy: JSONKey.self)
      for member in members { try container.encode(member.value, forKey: JSONKey(member.key)) }
    }
  }
}
