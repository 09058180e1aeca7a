import EMoECore

extension SourceMetadata: Codable {
  enum CodingKeys: String, CodingKey {
    case kind, entries
  }

  enum EntryKeys: String, CodingKey {
    case key, value, type
    case elementType = "element_type"
  }

  /// Encodes the metadata as the manifest's `source.metadata` object, with every GGUF value's
  /// exact type spelled out so export can rebuild a GGUF with identical key-value types.
  ///
  /// Floats are JSON numbers when finite (Swift prints the shortest text that reads back to the
  /// same bits) and `"0x…"` IEEE bit patterns otherwise, so NaN payloads and infinities survive.
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    switch self {
    case .none:
      try container.encode("none", forKey: .kind)
    case .safetensors(let entries):
      try container.encode("safetensors", forKey: .kind)
      var list = container.nestedUnkeyedContainer(forKey: .entries)
      for entry in entries {
        var object = list.nestedContainer(keyedBy: EntryKeys.self)
        try object.encode(entry.key, forKey: .key)
        try object.encode(entry.value, forKey: .value)
      }
    case .gguf(let entries):
      try container.encode("gguf", forKey: .kind)
      var list = container.nestedUnkeyedContainer(forKey: .entries)
      for entry in entries {
        var object = list.nestedContainer(keyedBy: EntryKeys.self)
        try object.encode(entry.key, forKey: .key)
        try object.encode(Self.containerTypeName(entry.value.type), forKey: .type)
        if case .array(let elementType, let elements) = entry.value {
          try object.encode(Self.containerTypeName(elementType), forKey: .elementType)
          try object.encode(elements.map(Self.bareJSON), forKey: .value)
        } else {
          try object.encode(Self.bareJSON(entry.value), forKey: .value)
        }
      }
    }
  }

  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    let kind = try container.string(.kind)
    switch kind {
    case "none":
      self = .none
    case "safetensors":
      self = .safetensors(
        try container.array(.entries, of: StringEntry.self).map { ($0.key, $0.value) })
    case "gguf":
      self = .gguf(try container.array(.entries, of: TypedEntry.self).map { ($0.key, $0.value) })
    default:
      throw container.issue(.kind, "must be 'none', 'safetensors' or 'gguf', not '\(kind)'")
    }
  }

  /// One `__metadata__` pair of a safetensors source.
  private struct StringEntry: Decodable {
    var key: String
    var value: String

    init(from decoder: any Decoder) throws {
      let container = try decoder.container(keyedBy: EntryKeys.self)
      key = try container.string(.key)
      value = try container.string(.value)
    }
  }

  /// One GGUF key-value pair with its type.
  private struct TypedEntry: Decodable {
    var key: String
    var value: GGUFValue

    init(from decoder: any Decoder) throws {
      let container = try decoder.container(keyedBy: EntryKeys.self)
      key = try container.string(.key)
      let type = try SourceMetadata.ggufType(container, .type)
      let json = try container.required(.value)
      let path = container.codingPath + [EntryKeys.value]
      if type == .array {
        let elementType = try SourceMetadata.ggufType(container, .elementType)
        value = try SourceMetadata.ggufArray(elementType, json, path)
      } else {
        value = try SourceMetadata.ggufValue(type, json, path)
      }
    }
  }

  private static func ggufType(_ container: KeyedDecodingContainer<EntryKeys>, _ key: EntryKeys)
    throws -> GGUFValueType
  {
    let name = try container.string(key)
    guard let type = ggufType(named: name) else {
      throw container.issue(key, "'\(name)' is not a GGUF value type")
    }
    return type
  }

  private static func ggufArray(
    _ elementType: GGUFValueType, _ json: JSONValue, _ path: [any CodingKey]
  ) throws -> GGUFValue {
    func fail(_ path: [any CodingKey], _ detail: String) -> ContainerManifestIssue {
      ContainerManifestIssue(codingPath: path, detail: detail)
    }
    guard let elements = json.arrayValue else { throw fail(path, "must be an array") }
    var values: [GGUFValue] = []
    values.reserveCapacity(elements.count)
    for (index, element) in elements.enumerated() {
      let elementPath = path + [JSONIndexKey(index)]
      if elementType == .array {
        guard case .object = element else { throw fail(elementPath, "must be an object") }
        let typePath = elementPath + [EntryKeys.elementType]
        guard let typeValue = element["element_type"] else {
          throw fail(typePath, "the required member 'element_type' is missing")
        }
        guard let name = typeValue.stringValue else { throw fail(typePath, "must be a string") }
        guard let inner = ggufType(named: name) else {
          throw fail(typePath, "'\(name)' is not a GGUF value type")
        }
        guard let value = element["value"] else {
          throw fail(elementPath + [EntryKeys.value], "the required member 'value' is missing")
        }
        values.append(try ggufArray(inner, value, elementPath))
      } else {
        values.append(try ggufValue(elementType, element, elementPath))
      }
    }
    return .array(elementType: elementType, elements: values)
  }

  private static func ggufValue(_ type: GGUFValueType, _ json: JSONValue, _ path: [any CodingKey])
    throws -> GGUFValue
  {
    func fail(_ detail: String) -> ContainerManifestIssue {
      ContainerManifestIssue(codingPath: path, detail: detail)
    }
    func integer<T: FixedWidthInteger>(_: T.Type) throws -> T {
      switch json {
      case .integer(let value): if let exact = T(exactly: value) { return exact }
      case .unsignedInteger(let value): if let exact = T(exactly: value) { return exact }
      case .number(let value): if let exact = T(exactly: value) { return exact }
      default: break
      }
      throw fail("must be an integer in the range of \(containerTypeName(type))")
    }
    switch type {
    case .uint8: return .uint8(try integer(UInt8.self))
    case .int8: return .int8(try integer(Int8.self))
    case .uint16: return .uint16(try integer(UInt16.self))
    case .int16: return .int16(try integer(Int16.self))
    case .uint32: return .uint32(try integer(UInt32.self))
    case .int32: return .int32(try integer(Int32.self))
    case .uint64: return .uint64(try integer(UInt64.self))
    case .int64: return .int64(try integer(Int64.self))
    case .bool:
      guard let value = json.boolValue else { throw fail("must be a boolean") }
      return .bool(value)
    case .string:
      guard let value = json.stringValue else { throw fail("must be a string") }
      return .string(value)
    case .float32:
      if let bits = try floatBits(json, digits: 8, path) {
        return .float32(Float(bitPattern: UInt32(truncatingIfNeeded: bits)))
      }
      guard let value = json.doubleValue, Double(Float(value)) == value else {
        throw fail("must be a float32 value or its 0x bit pattern")
      }
      return .float32(Float(value))
    case .float64:
      if let bits = try floatBits(json, digits: 16, path) {
        return .float64(Double(bitPattern: bits))
      }
      guard let value = json.doubleValue else {
        throw fail("must be a number or its 0x bit pattern")
      }
      return .float64(value)
    case .array:
      throw fail("an array needs an element_type")
    }
  }

  /// The bit pattern of a float written as `"0x…"` with exactly `digits` hex digits, or `nil`
  /// when `json` is not a string.
  private static func floatBits(_ json: JSONValue, digits: Int, _ path: [any CodingKey]) throws
    -> UInt64?
  {
    guard let text = json.stringValue else { return nil }
    let hex = text.dropFirst(2)
    guard text.hasPrefix("0x"), hex.utf8.count == digits,
      hex.utf8.allSatisfy(ContainerManifestIssue.isLowerHex), let bits = UInt64(hex, radix: 16)
    else {
      throw ContainerManifestIssue(
        codingPath: path,
        detail: "must be a number or 0x followed by \(digits) lowercase hex digits")
    }
    return bits
  }

  /// The name the manifest uses for a GGUF value type.
  public static func containerTypeName(_ type: GGUFValueType) -> String {
    switch type {
    case .uint8: "uint8"
    case .int8: "int8"
    case .uint16: "uint16"
    case .int16: "int16"
    case .uint32: "uint32"
    case .int32: "int32"
    case .float32: "float32"
    case .bool: "bool"
    case .string: "string"
    case .array: "array"
    case .uint64: "uint64"
    case .int64: "int64"
    case .float64: "float64"
    }
  }

  /// The GGUF value type named `name` in a manifest.
  static func ggufType(named name: String) -> GGUFValueType? {
    GGUFValueType.allCases.first { containerTypeName($0) == name }
  }

  /// The JSON form of a value whose type is known from context (an array's element type).
  static func bareJSON(_ value: GGUFValue) -> JSONValue {
    switch value {
    case .uint8(let v): .integer(Int64(v))
    case .int8(let v): .integer(Int64(v))
    case .uint16(let v): .integer(Int64(v))
    case .int16(let v): .integer(Int64(v))
    case .uint32(let v): .integer(Int64(v))
    case .int32(let v): .integer(Int64(v))
    case .uint64(let v): v <= UInt64(Int64.max) ? .integer(Int64(v)) : .unsignedInteger(v)
    case .int64(let v): .integer(v)
    case .float32(let v):
      v.isFinite ? .number(Double(v)) : .string("0x" + hexDigits(UInt64(v.bitPattern), count: 8))
    case .float64(let v):
      v.isFinite ? .number(v) : .string("0x" + hexDigits(v.bitPattern, count: 16))
    case .bool(let v): .bool(v)
    case .string(let v): .string(v)
    case .array(let elementType, let elements):
      // Only nested arrays reach here: each carries its own element type.
      .object([
        JSONMember("element_type", .string(containerTypeName(elementType))),
        JSONMember("value", .array(elements.map(bareJSON))),
      ])
    }
  }

  /// `value` as exactly `count` lowercase hex digits.
  static func hexDigits(_ value: UInt64, count: Int) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, count - digits.count)) + digits
  }

  /// Whether every array's elements have the array's element type (GGUF's rule).
  static func isWellTyped(_ value: GGUFValue) -> Bool {
    guard case .array(let elementType, let elements) = value else { return true }
    return elements.allSatisfy { $0.type == elementType && isWellTyped($0) }
  }
}
