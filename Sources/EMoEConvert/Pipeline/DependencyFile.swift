import EMoECore

/// A Make-style dependency file (`--depfile`): `OUT.emoe: IN shard... config.json`, so a build
/// system reruns the conversion when an input changes.
public enum DependencyFile {
  /// The file's text: one rule, paths escaped for Make, ending with a newline.
  public static func text(target: String, prerequisites: [String]) -> String {
    ([escape(target) + ":"] + prerequisites.map(escape)).joined(separator: " ") + "\n"
  }

  /// Writes the rule to `path` atomically.
  ///
  /// - Throws: ``ConversionError/io(_:)`` when the file cannot be written.
  public static func write(to path: String, target: String, prerequisites: [String])
    throws(ConversionError)
  {
    do throws(FileError) {
      let output = try AtomicFileWriter(destination: path)
      try output.write(Array(text(target: target, prerequisites: prerequisites).utf8))
      try output.commit()
    } catch {
      throw .io(error)
    }
  }

  /// `path` escaped as Make reads it: spaces and `#` behind a backslash, `$` doubled.
  static func escape(_ path: String) -> String {
    var result = ""
    for character in path {
      switch character {
      case " ", "\t": result += "\\" + String(character)
      case "#": result += "\\#"
      case "$": result += "$$"
      default: result.append(character)
      }
    }
    return result
  }
}
