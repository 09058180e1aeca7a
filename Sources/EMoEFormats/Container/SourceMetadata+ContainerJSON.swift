import EMoECore

extension SourceMetadata {
  /// The metadata as the manifest's `source.metadata` object, with every GGUF value's exact type
  /// spelled out so export can rebuild a GGUF with identical key-value types.
  ///
  /// Floats are JSON numbers when finite (Swift prints the shortest text that reads back to the
  /// same bits) and `"0x…"` IEEE bit patterns otherwise, so NaN payloads and infinities survive.
  public func containerJSON() -> JSONValue {
    switch self {
    case .none:
      return .object([JSONMember("kind", .string("none"))])
    case .safetensors(let entries):
      let list = entries.map { entry in
        JSONValue.object([
          JSONMember("key", .string(entry.key)), JSONMember("value", .string(entry.value)),
        ])
      }
      return .object([
        JSONMember("kind", .string("safetensors")), JSONMember("entries", .array(list)),
      ])
    case .gguf(let entries):
      let list = entries.map { entry in
        JSONValue.object([JSONMember("key", .string(entry.key))] + Self.typedMembers(entry.value))
      }
      return .object([JSONMember("kind", .string("gguf")), JSONMember("entries", .array(list))])
    }
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

  /// `type` (and `element_type` for arrays) and `value` members for one GGUF value.
  static func typedMembers(_ value: GGUFValue) -> [JSONMember] {
    var members = [JSONMember("type", .string(containerTypeName(value.type)))]
    if case .array(let elementType, let elements) = value {
      members.append(JSONMember("element_type", .string(containerTypeName(elementType))))
      members.append(JSONMember("value", .array(elements.map(bareJSON))))
    } else {
      members.append(JSONMember("value", bareJSON(value)))
    }
    return members
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
