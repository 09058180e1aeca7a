/// Encodes `Encodable` values into a ``JSONValue``, object members in the order they are encoded.
///
/// Types that list their keys in `encode(to:)` (or synthesise it) therefore get their members in
/// declaration order, so ``JSONValue/serialized()`` gives the same bytes for the same value. A
/// `nil` encoded through `encode(_:forKey:)` is written as `null`; `encodeIfPresent` leaves the
/// member out. A ``JSONValue`` is stored as it is.
public struct JSONValueEncoder: Sendable {
  /// Creates an encoder.
  public init() {}

  /// The JSON form of `value`.
  public func encode<T: Encodable>(_ value: T) throws -> JSONValue {
    if let json = value as? JSONValue { return json }
    let encoder = JSONValueEncoding(codingPath: [])
    try value.encode(to: encoder)
    return encoder.storage.value ?? .object([])
  }
}

/// The storage a (nested) encoder writes into; a class so containers can share it.
final class JSONEncodingSlot {
  enum Content {
    case value(JSONValue)
    case object([(key: String, slot: JSONEncodingSlot)])
    case array([JSONEncodingSlot])
  }

  var content: Content?

  var value: JSONValue? {
    switch content {
    case nil: nil
    case .value(let value): value
    case .object(let members):
      .object(members.map { JSONMember($0.key, $0.slot.value ?? .object([])) })
    case .array(let elements): .array(elements.map { $0.value ?? .object([]) })
    }
  }

  /// The slot of member `key`, created (after the existing members) when absent.
  func member(_ key: String) -> JSONEncodingSlot {
    if case .object(var members) = content {
      if let existing = members.first(where: { $0.key == key }) { return existing.slot }
      let slot = JSONEncodingSlot()
      members.append((key, slot))
      content = .object(members)
      return slot
    }
    let slot = JSONEncodingSlot()
    content = .object([(key, slot)])
    return slot
  }

  /// A new slot appended to the array.
  func append() -> JSONEncodingSlot {
    let slot = JSONEncodingSlot()
    if case .array(var elements) = content {
      // Drop the enum's reference first, so appending does not copy the array (which made
      // encoding an n-element array O(n²): minutes for a GGUF source's 49 152 tokens).
      content = nil
      elements.append(slot)
      content = .array(elements)
    } else {
      content = .array([slot])
    }
    return slot
  }
}

struct JSONValueEncoding: Encoder {
  var codingPath: [any CodingKey]
  var userInfo: [CodingUserInfoKey: Any] { [:] }
  let storage: JSONEncodingSlot

  init(codingPath: [any CodingKey], storage: JSONEncodingSlot = JSONEncodingSlot()) {
    self.codingPath = codingPath
    self.storage = storage
  }

  func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
    if case .object = storage.content {} else { storage.content = .object([]) }
    return KeyedEncodingContainer(Keyed<Key>(codingPath: codingPath, storage: storage))
  }

  func unkeyedContainer() -> any UnkeyedEncodingContainer {
    if case .array = storage.content {} else { storage.content = .array([]) }
    return Unkeyed(codingPath: codingPath, storage: storage)
  }

  func singleValueContainer() -> any SingleValueEncodingContainer {
    Single(codingPath: codingPath, storage: storage)
  }

  /// Stores `value` into `slot`: scalars directly, everything else through its `encode(to:)`.
  static func store<T: Encodable>(_ value: T, in slot: JSONEncodingSlot, path: [any CodingKey])
    throws
  {
    if let json = value as? JSONValue {
      slot.content = .value(json)
      return
    }
    try value.encode(to: JSONValueEncoding(codingPath: path, storage: slot))
  }

  struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
    var codingPath: [any CodingKey]
    let storage: JSONEncodingSlot

    func set(_ value: JSONValue, _ key: Key) {
      storage.member(key.stringValue).content = .value(value)
    }
    func set(_ value: some BinaryInteger, _ key: Key) { set(.integer(Int64(value)), key) }

    mutating func encodeNil(forKey key: Key) throws { set(.null, key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { set(.bool(value), key) }
    mutating func encode(_ value: String, forKey key: Key) throws { set(.string(value), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws { set(.number(value), key) }
    mutating func encode(_ value: Float, forKey key: Key) throws {
      set(.number(Double(value)), key)
    }
    mutating func encode(_ value: Int, forKey key: Key) throws { set(.integer(Int64(value)), key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { set(.integer(value), key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { set(value, key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { set(value, key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { set(value, key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { set(value, key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { set(value, key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { set(value, key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws {
      try encode(UInt64(value), forKey: key)
    }
    mutating func encode(_ value: UInt64, forKey key: Key) throws {
      set(value <= UInt64(Int64.max) ? .integer(Int64(value)) : .unsignedInteger(value), key)
    }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
      try JSONValueEncoding.store(
        value, in: storage.member(key.stringValue), path: codingPath + [key])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
      keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
      JSONValueEncoding(codingPath: codingPath + [key], storage: storage.member(key.stringValue))
        .container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
      JSONValueEncoding(codingPath: codingPath + [key], storage: storage.member(key.stringValue))
        .unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
      JSONValueEncoding(codingPath: codingPath, storage: storage.member("super"))
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
      JSONValueEncoding(codingPath: codingPath + [key], storage: storage.member(key.stringValue))
    }
  }

  struct Unkeyed: UnkeyedEncodingContainer {
    var codingPath: [any CodingKey]
    let storage: JSONEncodingSlot
    var count: Int {
      if case .array(let elements) = storage.content { return elements.count }
      return 0
    }

    func add(_ value: JSONValue) { storage.append().content = .value(value) }
    func add(_ value: some BinaryInteger) { add(.integer(Int64(value))) }

    mutating func encodeNil() throws { add(.null) }
    mutating func encode(_ value: Bool) throws { add(.bool(value)) }
    mutating func encode(_ value: String) throws { add(.string(value)) }
    mutating func encode(_ value: Double) throws { add(.number(value)) }
    mutating func encode(_ value: Int) throws { add(.integer(Int64(value))) }
    mutating func encode(_ value: Int64) throws { add(.integer(value)) }
    mutating func encode(_ value: Int8) throws { add(value) }
    mutating func encode(_ value: Int16) throws { add(value) }
    mutating func encode(_ value: Int32) throws { add(value) }
    mutating func encode(_ value: UInt8) throws { add(value) }
    mutating func encode(_ value: UInt16) throws { add(value) }
    mutating func encode(_ value: UInt32) throws { add(value) }
    mutating func encode(_ value: Float) throws { add(.number(Double(value))) }
    mutating func encode(_ value: UInt) throws { try encode(UInt64(value)) }
    mutating func encode(_ value: UInt64) throws {
      add(value <= UInt64(Int64.max) ? .integer(Int64(value)) : .unsignedInteger(value))
    }
    mutating func encode<T: Encodable>(_ value: T) throws {
      let index = JSONIndexKey(count)
      try JSONValueEncoding.store(value, in: storage.append(), path: codingPath + [index])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
      -> KeyedEncodingContainer<NestedKey>
    {
      let index = JSONIndexKey(count)
      return JSONValueEncoding(codingPath: codingPath + [index], storage: storage.append())
        .container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
      let index = JSONIndexKey(count)
      return JSONValueEncoding(codingPath: codingPath + [index], storage: storage.append())
        .unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
      JSONValueEncoding(codingPath: codingPath, storage: storage.append())
    }
  }

  struct Single: SingleValueEncodingContainer {
    var codingPath: [any CodingKey]
    let storage: JSONEncodingSlot

    func set(_ value: JSONValue) { storage.content = .value(value) }
    func set(_ value: some BinaryInteger) { set(.integer(Int64(value))) }

    mutating func encodeNil() throws { set(.null) }
    mutating func encode(_ value: Bool) throws { set(.bool(value)) }
    mutating func encode(_ value: String) throws { set(.string(value)) }
    mutating func encode(_ value: Double) throws { set(.number(value)) }
    mutating func encode(_ value: Float) throws { set(.number(Double(value))) }
    mutating func encode(_ value: Int) throws { set(.integer(Int64(value))) }
    mutating func encode(_ value: Int64) throws { set(.integer(value)) }
    mutating func encode(_ value: Int8) throws { set(value) }
    mutating func encode(_ value: Int16) throws { set(value) }
    mutating func encode(_ value: Int32) throws { set(value) }
    mutating func encode(_ value: UInt8) throws { set(value) }
    mutating func encode(_ value: UInt16) throws { set(value) }
    mutating func encode(_ value: UInt32) throws { set(value) }
    mutating func encode(_ value: UInt) throws { try encode(UInt64(value)) }
    mutating func encode(_ value: UInt64) throws {
      set(value <= UInt64(Int64.max) ? .integer(Int64(value)) : .unsignedInteger(value))
    }
    mutating func encode<T: Encodable>(_ value: T) throws {
      try JSONValueEncoding.store(value, in: storage, path: codingPath)
    }
  }
}

/// An array index as a coding key.
public struct JSONIndexKey: CodingKey, Sendable {
  public var stringValue: String { "\(intValue ?? 0)" }
  public var intValue: Int?

  /// The key of element `index`.
  public init(_ index: Int) { intValue = index }
  public init?(stringValue: String) { nil }
  public init?(intValue: Int) { self.intValue = intValue }
}
