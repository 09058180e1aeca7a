/// A failure of the operating system to open, map, write or rename a file.
public struct FileError: Error, Sendable, Equatable, CustomStringConvertible {
  /// The file concerned.
  public var path: String
  /// What was being done, such as "open" or "rename".
  public var operation: String
  /// The `errno` value reported by the system.
  public var code: Int32
  /// Set when nothing failed but the file was refused.
  ///
  /// An output that is not a regular file or is write-protected (see ``OutputSafety``). Commands report it with exit code 2.
  public var refusal: OutputRefusal?
  /// What the path is when it is not the regular file a reader needs (`"a FIFO"`, `"a
  /// directory"`), or `nil` for a failure of the system.
  ///
  /// A file of the wrong kind is the user's input at fault (exit 2), not the machine (exit 1).
  public var wrongKind: String?

  /// Creates an error for `operation` on `path` with the system error `code`.
  public init(path: String, operation: String, code: Int32) {
    self.path = path
    self.operation = operation
    self.code = code
  }

  /// An error for `path`, which is `kind` (such as `"a FIFO"`) rather than a regular file.
  public static func notRegular(_ path: String, kind: String) -> FileError {
    var error = FileError(path: path, operation: "read", code: EINVAL)
    error.wrongKind = kind
    return error
  }

  /// Whether the failure is the input's kind rather than the system (see ``wrongKind``).
  public var isWrongKind: Bool { wrongKind != nil }

  /// Creates an error from the current `errno`.
  public static func fromErrno(_ path: String, _ operation: String) -> FileError {
    FileError(path: path, operation: operation, code: errno)
  }

  /// An error for an output refused by ``OutputSafety``.
  public static func refused(_ refusal: OutputRefusal) -> FileError {
    var error = FileError(path: refusal.path, operation: "replace it", code: EEXIST)
    error.refusal = refusal
    return error
  }

  /// A readable message such as `model.safetensors: cannot open: No such file or directory`.
  public var description: String {
    if let refusal { return refusal.description }
    if let wrongKind { return "\(path): is \(wrongKind), not a regular file" }
    return "\(path): cannot \(operation): \(String(cString: strerror(code)))"
  }
}
