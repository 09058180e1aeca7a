extension GGUFValue {
  /// Appends the value's little-endian encoding: its type number (unless `withType` is false,
  /// as for array elements), then the payload.
  func encode(into bytes: inout [UInt8], withType: Bool = true) {
    if withType { GGUFValue.append(type.rawValue, to: &bytes) }
    switch self {
    case .uint8(let value): bytes.append(value)
    case .int8(let value): bytes.append(UInt8(bitPattern: value))
    case .uint16(let value): GGUFValue.append(value, to: &bytes)
    case .int16(let value): GGUFValue.append(value, to: &bytes)
    case .uint32(let value): GGUFValue.append(value, to: &bytes)
    case .int32(let value): GGUFValue.append(value, to: &bytes)
    case .float32(let value): GGUFValue.append(value.bitPattern, to: &bytes)
    case .bool(let value): bytes.append(value ? 1 : 0)
    case .string(let value): GGUFValue.appendString(value, to: &bytes)
    case .array(let elementType, let elements):
      GGUFValue.append(elementType.rawValue, to: &bytes)
      GGUFValue.append(UInt64(elements.count), to: &bytes)
      for element in elements { element.encode(into: &bytes, withType: false) }
    case .uint64(let value): GGUFValue.append(value, to: &bytes)
    case .int64(let value): GGUFValue.append(value, to: &bytes)
    case .float64(let value): GGUFValue.append(value.bitPattern, to: &bytes)
    }
  }

  /// Appends `value` in little-endian byte order.
  static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
    withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
  }

  /// Appends a `gguf_string`: the u64 byte length, then the UTF-8 bytes.
  static func appendString(_ string: String, to bytes: inout [UInt8]) {
    append(UInt64(string.utf8.count), to: &bytes)
    bytes.append(contentsOf: string.utf8)
  }
}
