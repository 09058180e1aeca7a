import EMoECore

/// A rule of the manifest schema that a decoded value breaks, found while decoding.
///
/// ``ContainerManifest/decode(_:file:)`` turns it, and the `DecodingError`s of the decoder, into
/// a ``ContainerError`` naming the JSON path.
struct ContainerManifestIssue: Error {
  /// Where: the coding path of the member or element at fault.
  var codingPath: [any CodingKey]
  /// What is wrong, as the message states it (without the `invalid manifest: ` prefix).
  var detail: String
  /// The required feature this reader lacks, for that error's own kind.
  var unknownFeature: String?

  /// The path as `layers[0].clustering.keys`.
  var keyPath: String { JSONValueDecoder.keyPath(codingPath) }
}

extension KeyedDecodingContainer {
  /// An issue at member `key`.
  func issue(_ key: Key, _ detail: String) -> ContainerManifestIssue {
    ContainerManifestIssue(codingPath: codingPath + [key], detail: detail)
  }

  /// An issue at this object itself.
  func issue(_ detail: String) -> ContainerManifestIssue {
    ContainerManifestIssue(codingPath: codingPath, detail: detail)
  }

  /// The member `key`, which must be present (`null` counts as present).
  func required(_ key: Key) throws -> JSONValue {
    guard contains(key) else {
      throw issue(key, "the required member '\(key.stringValue)' is missing")
    }
    return try decode(JSONValue.self, forKey: key)
  }

  /// The string member `key`.
  func string(_ key: Key) throws -> String {
    guard let value = try required(key).stringValue else { throw issue(key, "must be a string") }
    return value
  }

  /// The Boolean member `key`.
  func bool(_ key: Key) throws -> Bool {
    guard let value = try required(key).boolValue else {
      throw issue(key, "must be true or false")
    }
    return value
  }

  /// The integer member `key` (`2.0` counts, as JSON Schema counts it), at least `minimum`.
  func integer(_ key: Key, minimum: Int) throws -> Int {
    guard let value = ContainerManifestIssue.exactInteger(try required(key)), value >= minimum
    else {
      throw issue(
        key, minimum == Int.min ? "must be an integer" : "must be an integer >= \(minimum)")
    }
    return value
  }

  /// The object member `key`, decoded as `T`.
  func object<T: Decodable>(_ key: Key, as type: T.Type) throws -> T {
    guard case .object = try required(key) else { throw issue(key, "must be an object") }
    return try decode(type, forKey: key)
  }

  /// The array member `key`, decoded as `[T]`.
  func array<T: Decodable>(_ key: Key, of type: T.Type) throws -> [T] {
    guard case .array = try required(key) else { throw issue(key, "must be an array") }
    return try decode([T].self, forKey: key)
  }

  /// The string member `key` naming a case of `T`, else `message(name)`.
  func choice<T: RawRepresentable>(_ key: Key, _ type: T.Type, _ message: (String) -> String)
    throws -> T where T.RawValue == String
  {
    let name = try string(key)
    guard let value = T(rawValue: name) else { throw issue(key, message(name)) }
    return value
  }

  /// The member `key` as 16 lowercase hex digits.
  func checksum(_ key: Key) throws -> UInt64 {
    let text = try string(key)
    guard text.utf8.count == 16, text.utf8.allSatisfy(ContainerManifestIssue.isLowerHex),
      let value = UInt64(text, radix: 16)
    else { throw issue(key, "must be 16 lowercase hex digits") }
    return value
  }

  /// The member `key` naming a ``DType``.
  func dtype(_ key: Key) throws -> DType {
    try choice(key, DType.self) { "'\($0)' is not a dtype" }
  }

  /// The member `key` as a shape: at most 16 dimensions, each an integer >= 0, whose product fits.
  func shape(_ key: Key) throws -> Shape {
    guard let values = try required(key).arrayValue else { throw issue(key, "must be an array") }
    guard values.count <= 16 else { throw issue(key, "has more than 16 dimensions") }
    var dimensions: [Int] = []
    for (index, value) in values.enumerated() {
      guard let dimension = ContainerManifestIssue.exactInteger(value), dimension >= 0 else {
        throw ContainerManifestIssue(
          codingPath: codingPath + [key, JSONIndexKey(index)], detail: "must be an integer >= 0")
      }
      dimensions.append(dimension)
    }
    guard Shape(dimensions).elementCount != nil else { throw issue(key, "has too many elements") }
    return Shape(dimensions)
  }
}

extension UnkeyedDecodingContainer {
  /// The coding path of the element the next `decode` reads.
  var elementPath: [any CodingKey] { codingPath + [JSONIndexKey(currentIndex)] }
}

extension ContainerManifestIssue {
  /// The value as `Int` when it is an integer, including a number such as `2.0` that JSON
  /// Schema also counts as an integer.
  static func exactInteger(_ json: JSONValue) -> Int? {
    switch json {
    case .integer(let value): Int(exactly: value)
    case .number(let value): Int(exactly: value)
    default: nil
    }
  }

  static func isLowerHex(_ byte: UInt8) -> Bool {
    (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
      || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
  }

  static func isIdentifier(_ text: String) -> Bool {
    guard let first = text.utf8.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first)
    else {
      return false
    }
    return text.utf8.allSatisfy { byte in
      (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
        || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")
    }
  }
}
