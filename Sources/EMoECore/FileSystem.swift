/// Small file-system queries shared by the formats and commands.
public enum FileSystem {
  /// Whether `path` exists; sets `isDirectory` when it does.
  public static func exists(_ path: String, isDirectory: inout Bool) -> Bool {
    var status = stat()
    guard stat(path, &status) == 0 else { return false }
    isDirectory = (status.st_mode & S_IFMT) == S_IFDIR
    return true
  }

  /// Whether a file or folder exists at `path`.
  public static func exists(_ path: String) -> Bool {
    var isDirectory = false
    return exists(path, isDirectory: &isDirectory)
  }

  /// The size of the file at `path` in bytes, or `nil` when it cannot be read.
  public static func size(_ path: String) -> Int? {
    var status = stat()
    guard stat(path, &status) == 0 else { return nil }
    return Int(status.st_size)
  }

  /// What a file of `mode` is, for messages: `"a directory"`, `"a FIFO"` and so on.
  public static func kindName(mode: mode_t) -> String {
    switch mode & S_IFMT {
    case S_IFREG: "a regular file"
    case S_IFDIR: "a directory"
    case S_IFIFO: "a FIFO"
    case S_IFCHR: "a character device"
    case S_IFBLK: "a block device"
    case S_IFSOCK: "a socket"
    case S_IFLNK: "a symbolic link"
    default: "a special file"
    }
  }

  /// The folder part of `path` (`.` when there is none).
  public static func directory(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    let directory = String(path[..<slash])
    return directory.isEmpty ? "/" : directory
  }

  /// The last component of `path`.
  public static func basename(of path: String) -> String {
    path.split(separator: "/").last.map(String.init) ?? path
  }

  /// `component` appended to `directory` with one slash.
  public static func join(_ directory: String, _ component: String) -> String {
    if component.hasPrefix("/") { return component }
    if directory.isEmpty || directory == "." { return component }
    return directory.hasSuffix("/") ? directory + component : directory + "/" + component
  }

  /// The SHA-256 of the file at `path`, read through a mapping; `progress` is told the size of
  /// each chunk as it is hashed.
  public static func sha256(
    ofFile path: String, progress: (@Sendable (_ bytes: Int) -> Void)? = nil
  ) throws(FileError) -> String {
    let file = try MappedFile(path: path)
    TestHooks.recordHashPass(of: path)
    var hash = SHA256()
    let chunk = 16 << 20
    var offset = 0
    file.adviseSequential()
    while offset < file.count {
      let count = min(chunk, file.count - offset)
      hash.update(file.bytes(offset: offset, count: count))
      file.adviseDone(offset: offset, count: count)
      offset += count
      progress?(count)
    }
    return hash.finalizeHex()
  }
}
