extension String {
  /// The string with every control character (C0, DEL and C1) written as a visible escape
  /// (`\n`, `\r`, `\t`, otherwise `\u{1B}` and so on), so text taken from a file cannot drive
  /// the terminal it is printed on.
  ///
  /// - Parameter keepingNewlines: leaves `\n` as it is, for text whose lines are ours.
  public func escapingControlCharacters(keepingNewlines: Bool = false) -> String {
    guard unicodeScalars.contains(where: { Self.isControl($0) }) else { return self }
    var result = ""
    for scalar in unicodeScalars {
      switch scalar {
      case "\n" where keepingNewlines: result.unicodeScalars.append(scalar)
      case "\n": result += "\\n"
      case "\r": result += "\\r"
      case "\t": result += "\\t"
      case _ where Self.isControl(scalar):
        result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
      default: result.unicodeScalars.append(scalar)
      }
    }
    return result
  }

  private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
    scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
  }
}
