extension GGUFParser {
  /// Reads a value type number.
  mutating func readValueType(key: String) throws(GGUFError) -> GGUFValueType {
    let start = position
    let raw = try read(UInt32.self, "a value type", key: key)
    guard let type = GGUFValueType(rawValue: raw) else {
      throw error(.invalidValueType, "value type \(raw) is not a GGUF type", key: key, at: start)
    }
    return type
  }

  /// Reads one metadata value of `type` (after its type number).
  mutating func readValue(of type: GGUFValueType, key: String) throws(GGUFError) -> GGUFValue {
    switch type {
    case .array:
      let elementStart = position
      let elementType = try readValueType(key: key)
      guard elementType != .array else {
        throw error(
          .nestedArray, "arrays of arrays are not allowed (ggml rejects them)", key: key,
          at: elementStart)
      }
      let countStart = position
      let count = try readCount("the array length", key: key)
      guard count <= GGUFFormat.maxArrayElements else {
        throw error(
          .arrayTooLong,
          "array of \(count) elements; at most \(GGUFFormat.maxArrayElements) are allowed",
          key: key, at: countStart)
      }
      guard count <= arrayElementBudget else {
        throw error(
          .arrayTooLong,
          "metadata arrays would hold more than \(GGUFFormat.maxTotalArrayElements) elements in "
            + "total", key: key, at: countStart)
      }
      arrayElementBudget -= count
      // Strings take at least their 8-byte length each; check before building anything.
      let smallest = elementType == .string ? 8 : Self.size(of: elementType)
      guard count <= remaining / smallest else {
        throw error(
          .truncated,
          "array of \(count) \(elementType) elements runs past the end of the file "
            + "(\(remaining) bytes left)", key: key, at: countStart)
      }
      var elements: [GGUFValue] = []
      elements.reserveCapacity(count)
      for _ in 0..<count { elements.append(try readValue(of: elementType, key: key)) }
      return .array(elementType: elementType, elements: elements)
    case .string: return .string(try readString("the string value", key: key))
    case .uint8: return .uint8(try read(UInt8.self, "a u8 value", key: key))
    case .int8: return .int8(try read(Int8.self, "an i8 value", key: key))
    case .uint16: return .uint16(try read(UInt16.self, "a u16 value", key: key))
    case .int16: return .int16(try read(Int16.self, "an i16 value", key: key))
    case .uint32: return .uint32(try read(UInt32.self, "a u32 value", key: key))
    case .int32: return .int32(try read(Int32.self, "an i32 value", key: key))
    case .uint64: return .uint64(try read(UInt64.self, "a u64 value", key: key))
    case .int64: return .int64(try read(Int64.self, "an i64 value", key: key))
    case .float32:
      return .float32(Float(bitPattern: try read(UInt32.self, "an f32 value", key: key)))
    case .float64:
      return .float64(Double(bitPattern: try read(UInt64.self, "an f64 value", key: key)))
    case .bool:
      let start = position
      let byte = try read(UInt8.self, "a bool value", key: key)
      guard byte <= 1 else {
        throw error(.invalidBool, "bool value \(byte) is neither 0 nor 1", key: key, at: start)
      }
      return .bool(byte == 1)
    }
  }

  /// The encoded size of one value of a fixed-size type (1 for strings and arrays, whose
  /// sizes vary).
  static func size(of type: GGUFValueType) -> Int {
    switch type {
    case .uint8, .int8, .bool: 1
    case .uint16, .int16: 2
    case .uint32, .int32, .float32: 4
    case .uint64, .int64, .float64: 8
    case .string, .array: 1
    }
  }
}
