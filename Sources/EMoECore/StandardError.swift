/// Unbuffered writes to standard error, and whether it is a terminal.
public enum StandardError {
  /// Writes `text` to file descriptor 2 as it is.
  public static func write(_ text: String) {
    var copy = text
    copy.withUTF8 { buffer in
      var offset = 0
      while offset < buffer.count {
        let written = POSIX.write(2, buffer.baseAddress! + offset, buffer.count - offset)
        if written <= 0 { return }
        offset += written
      }
    }
  }

  /// Whether standard error is an interactive terminal (and `TERM` is not `dumb`).
  public static var isTerminal: Bool {
    if let term = getenv("TERM"), String(cString: term) == "dumb" { return false }
    return isatty(2) != 0
  }

  /// The terminal's width in columns: `COLUMNS` when the shell exports it, else 80 (`ioctl` is
  /// variadic in C, so Swift cannot call it to ask the terminal).
  public static var columns: Int {
    if let text = getenv("COLUMNS"), let value = Int(String(cString: text)), value > 0 {
      return value
    }
    return 80
  }
}
