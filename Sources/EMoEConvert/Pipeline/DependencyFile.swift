import EMoECore

/// A Make-style dependency file (`--depfile`): `OUT.emoe: IN shard... config.json`, so a build
/// system reruns the conversion when an input changes.
///
/// Paths are escaped the way GNU Make reads them (checked against `make` itself in the tests):
/// a space becomes `\ `, `#` becomes `\#`, `:` becomes `\:`, `$` becomes `$$`, and in
/// prerequisites `|`, `*`, `?` and `[` get a backslash so they are neither the order-only
/// separator nor wildcards. A path Make cannot read back is refused rather than written: one
/// holding a control character (newline, carriage return, tab, NUL, ...), a backslash, `;`
/// (which starts a recipe) or `=` (a target-specific variable), and a target holding `%` (a
/// pattern rule) or a wildcard.
public enum DependencyFile {
  /// The file's text: one rule, paths escaped for Make, ending with a newline.
  ///
  /// - Throws: ``ConversionError/invalidOptions(_:)`` naming a path Make cannot read.
  public static func text(target: String, prerequisites: [String]) throws(ConversionError)
    -> String
  {
    var words = [try escape(target, isTarget: true) + ":"]
    for prerequisite in prerequisites { words.append(try escape(prerequisite, isTarget: false)) }
    return words.joined(separator: " ") + "\n"
  }

  /// Writes the rule to `path` atomically.
  ///
  /// - Throws: ``ConversionError/invalidOptions(_:)`` for a path Make cannot read,
  ///   ``ConversionError/io(_:)`` when the file cannot be written.
  public static func write(to path: String, target: String, prerequisites: [String])
    throws(ConversionError)
  {
    let rule = try text(target: target, prerequisites: prerequisites)
    do throws(FileError) {
      let output = try AtomicFileWriter(destination: path)
      try output.write(Array(rule.utf8))
      try output.commit()
    } catch {
      throw .io(error)
    }
  }

  /// `path` escaped as Make reads it in a rule's target (`isTarget`) or prerequisite list.
  static func escape(_ path: String, isTarget: Bool) throws(ConversionError) -> String {
    var result = ""
    for scalar in path.unicodeScalars {
      if let problem = unreadable(scalar, isTarget: isTarget) {
        let visible = path.unicodeScalars.map { $0.escaped(asASCII: true) }.joined()
        throw .invalidOptions(
          "\(visible): cannot be written into a Make dependency file: it holds \(problem), "
            + "which Make cannot read in a \(isTarget ? "target" : "prerequisite"); rename it or "
            + "drop --depfile")
      }
      switch scalar {
      case " ": result += "\\ "
      case "#": result += "\\#"
      case ":": result += "\\:"
      case "$": result += "$$"
      case "|" where !isTarget, "*", "?", "[": result += "\\" + String(scalar)
      default: result.unicodeScalars.append(scalar)
      }
    }
    return result
  }

  /// What makes `scalar` unreadable for Make, or `nil` when it can be written (escaped).
  private static func unreadable(_ scalar: Unicode.Scalar, isTarget: Bool) -> String? {
    switch scalar {
    case "\n": return "a newline"
    case "\r": return "a carriage return"
    case "\t": return "a tab"
    case "\u{0}": return "a NUL character"
    case "\\": return "a backslash"
    case ";": return "';'"
    case "=": return "'='"
    case "%" where isTarget, "*" where isTarget, "?" where isTarget, "[" where isTarget:
      return "'\(scalar)'"
    default:
      if scalar.value < 0x20 || scalar.value == 0x7F {
        return "the control character U+\(String(scalar.value, radix: 16, uppercase: true))"
      }
      return nil
    }
  }
}
