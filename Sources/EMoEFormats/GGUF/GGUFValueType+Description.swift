extension GGUFValueType: CustomStringConvertible {
  /// A short name such as `u8`, `i32`, `f32`, `bool`, `string` or `array`.
  public var description: String {
    switch self {
    case .uint8: "u8"
    case .int8: "i8"
    case .uint16: "u16"
    case .int16: "i16"
    case .uint32: "u32"
    case .int32: "i32"
    case .float32: "f32"
    case .bool: "bool"
    case .string: "string"
    case .array: "array"
    case .uint64: "u64"
    case .int64: "i64"
    case .float64: "f64"
    }
  }
}
