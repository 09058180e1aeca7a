#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The temporary files that are being written right now, so that a signal handler can remove
/// them before the process exits.
///
/// Paths are kept in a fixed table of C strings guarded by a spin flag rather than a Swift
/// collection, because a signal handler may only touch async-signal-safe state.
public enum TemporaryFiles {
  private static let capacity = 256
  private static let pathLength = 4096
  nonisolated(unsafe) private static let table = UnsafeMutablePointer<CChar>.allocate(
    capacity: capacity * pathLength)
  nonisolated(unsafe) private static let used: UnsafeMutablePointer<Bool> = {
    let flags = UnsafeMutablePointer<Bool>.allocate(capacity: capacity)
    flags.initialize(repeating: false, count: capacity)
    return flags
  }()
  nonisolated(unsafe) private static var lock = pthread_mutex_t()
  private static let lockReady: Void = { pthread_mutex_init(&lock, nil) }()

  /// Records `path` as a temporary file in progress.
  static func register(_ path: String) {
    _ = lockReady
    pthread_mutex_lock(&lock)
    let bytes = Array(path.utf8CString)
    if bytes.count <= pathLength {
      for slot in 0..<capacity where !used[slot] {
        let target = table + slot * pathLength
        bytes.withUnsafeBufferPointer { target.update(from: $0.baseAddress!, count: bytes.count) }
        used[slot] = true
        break
      }
    }
    pthread_mutex_unlock(&lock)
    TestHooks.pauseAfterTemporaryRegistered()
  }

  /// Forgets `path` after it was renamed or removed.
  static func unregister(_ path: String) {
    _ = lockReady
    pthread_mutex_lock(&lock)
    defer { pthread_mutex_unlock(&lock) }
    for slot in 0..<capacity where used[slot] {
      if String(cString: table + slot * pathLength) == path {
        used[slot] = false
        return
      }
    }
  }

  /// Unlinks every registered temporary file; safe to call from a signal handler.
  public static func removeAll() {
    for slot in 0..<capacity where used[slot] {
      unlink(table + slot * pathLength)
      used[slot] = false
    }
  }

  /// Installs handlers for SIGINT, SIGTERM and SIGHUP that remove every temporary file and then
  /// exit with 128 + the signal number, as shells report a killed process.
  public static func installSignalHandlers() {
    for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
      signal(signalNumber) { received in
        TemporaryFiles.removeAll()
        _exit(128 + received)
      }
    }
  }
}
