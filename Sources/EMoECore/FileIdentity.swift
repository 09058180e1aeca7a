/// What a path names on disk, so that two spellings of one file are recognised as one: its
/// canonical real path (symbolic links and `.`/`..` resolved, through the deepest folder that
/// exists) and, for a file that exists, its device and inode, which also identify hard links.
public struct FileIdentity: Sendable, Hashable {
  /// The device and inode of an existing file (`stat`, following symbolic links).
  public struct Inode: Sendable, Hashable {
    /// `st_dev`.
    public var device: UInt64
    /// `st_ino`.
    public var inode: UInt64
  }

  /// The absolute path with every existing component resolved through symbolic links.
  public var canonicalPath: String
  /// The file's device and inode when it exists.
  public var inode: Inode?

  /// The identity of `path` as it is on disk now.
  public init(path: String) {
    canonicalPath = Self.canonicalPath(path)
    var status = stat()
    if stat(path, &status) == 0 {
      inode = Inode(device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
    }
  }

  /// Whether both identities name one file: the same inode, or the same canonical path.
  public func isSameFile(as other: FileIdentity) -> Bool {
    if let inode, let otherInode = other.inode, inode == otherInode { return true }
    return canonicalPath == other.canonicalPath
  }

  /// `path` made absolute and resolved: the deepest prefix that exists goes through
  /// `realpath` (symbolic links followed), the rest is normalised lexically.
  public static func canonicalPath(_ path: String) -> String {
    let absolute = path.hasPrefix("/") ? path : currentDirectory() + "/" + path
    let components = absolute.split(separator: "/", omittingEmptySubsequences: true)
    var split = components.count
    while split >= 0 {
      let prefix = "/" + components[..<split].joined(separator: "/")
      if let resolved = realpath(prefix, nil) {
        defer { free(resolved) }
        let rest = components[split...].joined(separator: "/")
        return normalize(String(cString: resolved) + "/" + rest)
      }
      split -= 1
    }
    return normalize(absolute)
  }

  /// Removes `.` and `..` components and repeated slashes from an absolute path.
  public static func normalize(_ absolute: String) -> String {
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
    guard let path = getcwd(nil, 0) else { return "" }
    defer { free(path) }
    return String(cString: path)
  }
}
