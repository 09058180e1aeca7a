extension JSONValue {
  /// The value as compact JSON text (no spaces), members in their stored order.
  ///
  /// Output is deterministic: the same value always gives the same bytes. Non-finite numbers,
  /// which JSON cannot hold, are written as `null`.
  public func serialized() -> String {
    var output = ""
    write(to: &output, indent: nil, level: 0)
    return output
  }

  /// The value as JSON text indented by two spaces per level, for people to read.
  public func prettySerialized() -> String {
    var output = ""
    write(to: &output, indent: "  ", level: 0)
    return output
  }

  private func write(to output: inout String, indent: String?, level: Int) {
    switch self {
    case .null: output += "null"
    case .bool(let value): output += value ? "true" : "false"
    case .integer(let value): output += String(value)
    case .unsignedInteger(let value): output += String(value)
    case .number(let value): output += value.isFinite ? "\(value)" : "null"
    case .string(let value): JSONValue.writeString(value, to: &output)
    case .array(let elements):
      writeList(
        elements.count, open: "[", close: "]", to: &output, indent: indent, level: level
      ) { index, out in
        elements[index].write(to: &out, indent: indent, level: level + 1)
      }
    case .object(let members):
      writeList(
        members.count, open: "{", close: "}", to: &output, indent: indent, level: level
      ) { index, out in
        JSONValue.writeString(members[index].key, to: &out)
        out += indent == nil ? ":" : ": "
        members[index].value.write(to: &out, indent: indent, level: level + 1)
      }
    }
  }

  private func writeList(
    _ count: Int, open: String, close: String, to output: inout String, indent: String?,
    level: Int, element: (Int, inout String) -> Void
  ) {
    output += open
    guard count > 0 else {
      output += close
      return
    }
    for index in 0..<count {
      if index > 0 { output += "," }
      if let indent { output += "\n" + String(repeating: indent, count: level + 1) }
      element(index, &output)
    }
    if let indent { output += "\n" + String(repeating: indent, count: level) }
    output += close
  }

  private static func writeString(_ value: String, to output: inout String) {
    output += "\""
    for scalar in value.unicodeScalars {
      switch scalar {
      case "\"": output += "\\\""
      case "\\": output += "\\\\"
      case "\n": output += "\\n"
      case "\r": output += "\\r"
      case "\t": output += "\\t"
      case "\u{08}": output += "\\b"
      case "\u{0C}": output += "\\f"
      case _ where scalar.value < 0x20:
        let hex = String(scalar.value, radix: 16)
        output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: output.unicodeScalars.append(scalar)
      }
    }
    output += "\""
  }
}
