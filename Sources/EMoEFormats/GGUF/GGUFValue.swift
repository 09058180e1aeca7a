/// A GGUF metadata value with its exact GGUF type, so files round-trip without type changes.
///
/// Not `indirect`: an array's elements live in one contiguous buffer of 24-byte values instead
/// of one heap box each, which keeps a vocabulary of millions of entries to tens of megabytes.
public enum GGUFValue: Sendable, Equatable {
  case uint8(UInt8)
  case int8(Int8)
  case uint16(UInt16)
  case int16(Int16)
  case uint32(UInt32)
  case int32(Int32)
  case float32(Float)
  case bool(Bool)
  case string(String)
  /// An array whose elements all have `elementType` (GGUF forbids nested arrays).
  case array(elementType: GGUFValueType, elements: [GGUFValue])
  case uint64(UInt64)
  case int64(Int64)
  case float64(Double)

  /// The value's GGUF type.
  public var type: GGUFValueType {
    switch self {
    case .uint8: .uint8
    case .int8: .int8
    case .uint16: .uint16
    case .int16: .int16
    case .uint32: .uint32
    case .int32: .int32
    case .float32: .float32
    case .bool: .bool
    case .string: .string
    case .array: .array
    case .uint64: .uint64
    case .int64: .int64
    case .float64: .float64
    }
  }

  /// The value as `Int` when it is an integer of any width that fits.
  public var intValue: Int? {
    switch self {
    case .uint8(let v): Int(v)
    case .int8(let v): Int(v)
    case .uint16(let v): Int(v)
    case .int16(let v): Int(v)
    case .uint32(let v): Int(v)
    case .int32(let v): Int(v)
    case .uint64(let v): Int(exactly: v)
    case .int64(let v): Int(v)
    default: nil
    }
  }

  /// The string, when this is a string.
  public var stringValue: String? {
    if case .string(let value) = self { return value }
    return nil
  }

  /// NaN-aware equality: two NaN floats of the same type are equal, so round trips compare.
  public static func == (lhs: GGUFValue, rhs: GGUFValue) -> Bool {
    switch (lhs, rhs) {
    case (.uint8(let a), .uint8(let b)): a == b
    case (.int8(let a), .int8(let b)): a == b
    case (.uint16(let a), .uint16(let b)): a == b
    case (.int16(let a), .int16(let b)): a == b
    case (.uint32(let a), .uint32(let b)): a == b
    case (.int32(let a), .int32(let b)): a == b
    case (.float32(let a), .float32(let b)): a.bitPattern == b.bitPattern || a == b
    case (.bool(let a), .bool(let b)): a == b
    case (.string(let a), .string(let b)): a == b
    case (.array(let ta, let a), .array(let tb, let b)): ta == tb && a == b
    case (.uint64(let a), .uint64(let b)): a == b
    case (.int64(let a), .int64(let b)): a == b
    case (.float64(let a), .float64(let b)): a.bitPattern == b.bitPattern || a == b
    default: false
    }
  }
}

/// GGUF's metadata value type numbers (`gguf_type` in ggml).
public enum GGUFValueType: UInt32, Sendable, CaseIterable {
  case uint8 = 0
  case int8 = 1
  case uint16 = 2
  case int16 = 3
  case uint32 = 4
  case int32 = 5
  case float32 = 6
  case bool = 7
  case string = 8
  case array = 9
  case uint64 = 10
  case int64 = 11
  case float64 = 12
}
