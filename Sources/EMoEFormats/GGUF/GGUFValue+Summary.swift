import EMoECore

extension GGUFValue {
  /// Arrays with at most this many elements are shown whole.
  static let shownArrayElements = 16

  /// The value as one line for people: strings quoted and shortened, long arrays summarised as
  /// `[string × 49152: "a", "b", …]`.
  public var summary: String {
    switch self {
    case .array(let elementType, let elements):
      let shown = elements.count <= GGUFValue.shownArrayElements ? elements.count : 3
      var parts = elements.prefix(shown).map { $0.summary }
      if shown < elements.count { parts.append("…") }
      let listing = parts.isEmpty ? "" : ": " + parts.joined(separator: ", ")
      return "[\(elementType) × \(elements.count)\(listing)]"
    case .string(let string): return GGUFValue.quoted(string, limit: 60)
    default: return scalarText
    }
  }

  /// The value for `inspect --json`.
  ///
  /// Numbers, strings and Booleans appear as themselves, short arrays as arrays, long arrays as
  /// their ``summary``. Non-finite floats become `"nan"`, `"inf"` or `"-inf"`.
  public var inspectionJSON: JSONValue {
    switch self {
    case .uint8(let v): .integer(Int64(v))
    case .int8(let v): .integer(Int64(v))
    case .uint16(let v): .integer(Int64(v))
    case .int16(let v): .integer(Int64(v))
    case .uint32(let v): .integer(Int64(v))
    case .int32(let v): .integer(Int64(v))
    case .uint64(let v): v <= UInt64(Int64.max) ? .integer(Int64(v)) : .unsignedInteger(v)
    case .int64(let v): .integer(v)
    case .float32(let v): GGUFValue.json(Double(v))
    case .float64(let v): GGUFValue.json(v)
    case .bool(let v): .bool(v)
    case .string(let v): .string(v)
    case .array(_, let elements):
      elements.count <= GGUFValue.shownArrayElements
        ? .array(elements.map(\.inspectionJSON)) : .string(summary)
    }
  }

  private var scalarText: String {
    switch self {
    case .uint8(let v): String(v)
    case .int8(let v): String(v)
    case .uint16(let v): String(v)
    case .int16(let v): String(v)
    case .uint32(let v): String(v)
    case .int32(let v): String(v)
    case .uint64(let v): String(v)
    case .int64(let v): String(v)
    case .float32(let v): "\(v)"
    case .float64(let v): "\(v)"
    case .bool(let v): v ? "true" : "false"
    case .string(let v): v
    case .array: ""
    }
  }

  private static func json(_ value: Double) -> JSONValue {
    if value.isFinite { return .number(value) }
    if value.isNaN { return .string("nan") }
    return .string(value > 0 ? "inf" : "-inf")
  }

  /// `string` in double quotes with control characters escaped, cut to `limit` characters.
  static func quoted(_ string: String, limit: Int) -> String {
    var text = ""
    var count = 0
    for character in string {
      if count == limit {
        text += "…"
        break
      }
      switch character {
      case "\"": text += "\\\""
      case "\\": text += "\\\\"
      default: text += String(character).escapingControlCharacters()
      }
      count += 1
    }
    return "\"\(text)\""
  }
}
