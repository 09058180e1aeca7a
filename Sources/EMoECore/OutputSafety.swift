/// The rules every command applies to the paths it is about to write, before it writes
/// anything.
///
/// See docs/reliability.md, "Output safety":
///
/// - an output is written as a new regular file renamed into place, so an existing output must
///   be a regular file: a device node, FIFO, socket, folder or symbolic link is refused, never
///   replaced;
/// - an existing output whose permission bits give the caller no write access is refused (a
///   rename would replace it silently, even as root);
/// - an output must not be, or resolve to (symbolic links, `..`, hard links), any input of the
///   command or another of its outputs (``PathClaims``).
public enum OutputSafety {
  /// Refuses an existing `path` that an output may not replace.
  ///
  /// A missing path, or one whose folder is missing, passes: creating it fails later with an
  /// I/O error if it cannot be made.
  public static func checkReplaceable(_ path: String) throws(OutputRefusal) {
    var status = stat()
    guard lstat(path, &status) == 0 else { return }
    let kind = status.st_mode & S_IFMT
    guard kind == S_IFREG else {
      throw OutputRefusal(
        path: path,
        reason: "is \(describe(kind)), not a regular file; outputs are written as regular files "
          + "only, so it is left as it is (name a regular file or a new path)")
    }
    guard isWritable(status) else {
      let mode = String(UInt32(status.st_mode) & 0o7777, radix: 8)
      throw OutputRefusal(
        path: path,
        reason: "is write-protected (mode \(mode)), so it is not replaced; remove it or make it "
          + "writable first")
    }
  }

  /// Refuses an existing `path` that is not a folder (or a symbolic link to one): the target of
  /// an export that writes a folder.
  public static func checkFolder(_ path: String) throws(OutputRefusal) {
    var status = stat()
    guard lstat(path, &status) == 0 else { return }
    var kind = status.st_mode & S_IFMT
    if kind == S_IFLNK {
      guard stat(path, &status) == 0 else {
        throw OutputRefusal(path: path, reason: "is a dangling symbolic link, not a folder")
      }
      kind = status.st_mode & S_IFMT
    }
    guard kind == S_IFDIR else {
      throw OutputRefusal(
        path: path, reason: "is \(describe(kind)), not a folder (this export writes a folder)")
    }
  }

  /// The permission bits a replaced output keeps: those of the existing regular file at
  /// `path`, or `nil` when there is none (a new file gets `0666` less the umask).
  public static func preservedMode(of path: String) -> mode_t? {
    var status = stat()
    guard lstat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { return nil }
    return status.st_mode & 0o777
  }

  /// Whether the permission bits of `status` give this process write access.
  ///
  /// The owner's bits count when it owns the file, the group's when it is in the file's group,
  /// else the others'. Root's override is deliberately ignored: a write-protected output is kept for everyone.
  static func isWritable(_ status: stat) -> Bool {
    if status.st_uid == geteuid() { return status.st_mode & S_IWUSR != 0 }
    if isMember(of: status.st_gid) { return status.st_mode & S_IWGRP != 0 }
    return status.st_mode & S_IWOTH != 0
  }

  private static func isMember(of group: gid_t) -> Bool {
    if getegid() == group { return true }
    let count = getgroups(0, nil)
    guard count > 0 else { return false }
    var groups = [gid_t](repeating: 0, count: Int(count))
    let filled = getgroups(count, &groups)
    return filled > 0 && groups[..<Int(filled)].contains(group)
  }

  /// The phrase for a file type from `st_mode`, such as `a FIFO`.
  static func describe(_ kind: mode_t) -> String {
    switch kind {
    case S_IFDIR: "a folder"
    case S_IFLNK: "a symbolic link"
    case S_IFCHR: "a character device"
    case S_IFBLK: "a block device"
    case S_IFIFO: "a FIFO"
    case S_IFSOCK: "a socket"
    case S_IFREG: "a regular file"
    default: "a special file"
    }
  }
}

extension OutputSafety {
  /// The whole rule for one command: no output is, or resolves to, an input or another output
  /// (``PathClaims``), and every output may be replaced (``checkReplaceable(_:)``).
  ///
  /// - Parameters:
  ///   - inputs: every file the command reads, each with how a message names it.
  ///   - outputs: every file the command writes, each with how a message names it.
  public static func check(
    inputs: [(path: String, label: String)], outputs: [(path: String, label: String)]
  ) throws(OutputRefusal) {
    var claims = PathClaims()
    do throws(PathConflict) {
      for input in inputs { try claims.read(input.path, as: input.label) }
      for output in outputs { try claims.write(output.path, as: output.label) }
    } catch {
      throw error.refusal
    }
    for output in outputs { try checkReplaceable(output.path) }
  }
}
