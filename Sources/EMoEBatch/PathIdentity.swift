import EMoECore

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Canonical spellings of paths, so that `out/a.emoe`, `./out/a.emoe` and a path through a
/// symbolic link to the same folder are recognised as one output.
enum PathIdentity {
  /// `path` made absolute, with `.`/`..` and repeated slashes removed and its folder resolved
  /// through symbolic links when that folder exists (the file itself need not exist).
  static func canonical(_ path: String) -> String {
    let absolute = path.hasPrefix("/") ? path : FileSystem.join(currentDirectory(), path)
    let lexical = normalize(absolute)
    let folder = FileSystem.directory(of: lexical)
    let name = FileSystem.basename(of: lexical)
    guard let resolved = realpath(folder, nil) else { return lexical }
    defer { free(resolved) }
    return FileSystem.join(String(cString: resolved), name)
  }

  /// Removes `.` and `..` components and repeated slashes from an absolute path.
  static func normalize(_ absolute: String) -> String {
    var parts: [Substring] = []
    for component in absolute.split(separator: "/", omittingEmptySubsequences: true) {
      switch component {
      case ".": continue
      case "..": _ = parts.popLast()
      default: parts.append(component)
      }
    }
    return "/" + parts.joined(separator: "/")
  }

  private static func currentDirectory() -> String {
    guard let path = getcwd(nil, 0) else { return "/" }
    defer { free(path) }
    return String(cString: path)
  }
}
