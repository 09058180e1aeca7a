import Synchronization

/// Turns a SIGBUS from a mapped file that shrank while it was read into a message naming that
/// file, clean-up of the temporary outputs, and exit status 1.
///
/// Another process may truncate an input while emoe-pack reads it through ``MappedFile``; the
/// kernel then raises SIGBUS on the first access past the new end. Swift cannot recover from a
/// signal, so the handler does what the process can still do safely: it finds the mapping that
/// holds the faulting address in a fixed table (async-signal-safe, like ``TemporaryFiles``),
/// writes `Error: <path>: the file changed (shrank) while it was being read` to stderr, removes
/// every registered temporary file and exits with 1.
public enum MappedFileFaults {
  private static let capacity = 512
  private static let pathLength = 4096
  nonisolated(unsafe) private static let starts: UnsafeMutablePointer<UInt> = {
    let table = UnsafeMutablePointer<UInt>.allocate(capacity: capacity)
    table.initialize(repeating: 0, count: capacity)
    return table
  }()
  nonisolated(unsafe) private static let lengths: UnsafeMutablePointer<UInt> = {
    let table = UnsafeMutablePointer<UInt>.allocate(capacity: capacity)
    table.initialize(repeating: 0, count: capacity)
    return table
  }()
  nonisolated(unsafe) private static let paths: UnsafeMutablePointer<CChar> = {
    let table = UnsafeMutablePointer<CChar>.allocate(capacity: capacity * pathLength)
    table.initialize(repeating: 0, count: capacity * pathLength)
    return table
  }()
  private static let lock = Mutex<Void>(())

  /// Records the mapping `[base, base + count)` of `path`.
  static func register(base: UnsafeRawPointer, count: Int, path: String) {
    _ = (starts, lengths, paths)
    let bytes = Array(path.utf8CString.prefix(pathLength - 1)) + [0]
    lock.withLock { _ in
      for slot in 0..<capacity where starts[slot] == 0 {
        let target = paths + slot * pathLength
        bytes.withUnsafeBufferPointer { target.update(from: $0.baseAddress!, count: bytes.count) }
        lengths[slot] = UInt(count)
        starts[slot] = UInt(bitPattern: base)
        return
      }
    }
  }

  /// Forgets the mapping that starts at `base`.
  static func unregister(base: UnsafeRawPointer) {
    let start = UInt(bitPattern: base)
    lock.withLock { _ in
      for slot in 0..<capacity where starts[slot] == start {
        starts[slot] = 0
        return
      }
    }
  }

  /// Installs the SIGBUS handler; call once at start-up, after which a shrinking input ends the
  /// process with status 1 and its name on stderr.
  public static func installHandler() {
    _ = (starts, lengths, paths)
    POSIX.installHandler(SIGBUS) { _, info, _ in
      MappedFileFaults.handleFault(at: POSIX.faultAddress(info))
    }
  }

  /// The signal handler's body: only async-signal-safe calls (`write`, `unlink`, `_exit`).
  private static func handleFault(at address: UInt) {
    TemporaryFiles.removeAll()
    writeError("Error: ")
    var named = false
    for slot in 0..<capacity where starts[slot] != 0 {
      if address >= starts[slot], address - starts[slot] < lengths[slot] {
        let path = paths + slot * pathLength
        _ = write(2, path, strlen(path))
        named = true
        break
      }
    }
    if !named { writeError("a mapped input file") }
    writeError(
      ": the file changed (it shrank) while it was being read; temporary outputs were removed\n")
    _exit(1)
  }

  private static func writeError(_ text: StaticString) {
    _ = write(2, text.utf8Start, text.utf8CodeUnitCount)
  }
}
