import Synchronization

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
  private static let lock = Mutex<Void>(())

  /// Records `path` as a temporary file in progress.
  static func register(_ path: String) {
    let bytes = Array(path.utf8CString)
    guard bytes.count <= pathLength else { return }
    lock.withLock { _ in
      for slot in 0..<capacity where !used[slot] {
        let target = table + slot * pathLength
        bytes.withUnsafeBufferPointer { target.update(from: $0.baseAddress!, count: bytes.count) }
        used[slot] = true
        return
      }
    }
  }

  /// Forgets `path` after it was renamed or removed.
  static func unregister(_ path: String) {
    lock.withLock { _ in
      for slot in 0..<capacity where used[slot] {
        if String(cString: table + slot * pathLength) == path {
          used[slot] = false
          return
        }
      }
    }
  }

  /// Unlinks every registered temporary file, then removes the registered staging folders
  /// (emptied by the first pass); safe to call from a signal handler.
  ///
  /// A path that does not exist yet stays registered: its writer may be creating it right now,
  /// and a second call removes it.
  public static func removeAll() {
    for slot in 0..<capacity where used[slot] {
      if unlink(table + slot * pathLength) == 0 { used[slot] = false }
    }
    for slot in 0..<capacity where used[slot] {
      if rmdir(table + slot * pathLength) == 0 { used[slot] = false }
    }
  }

  /// Whether a signal handler is removing the temporary files: no new one may be created.
  public static var isTerminating: Bool { terminating.load(ordering: .sequentiallyConsistent) }

  private static let terminating = Atomic<Bool>(false)

  /// Blocks the calling thread for good: the signal handler ends the process within moments.
  static func parkUntilExit() -> Never {
    while true { sleep(1) }
  }

  /// Installs handlers for SIGINT, SIGTERM and SIGHUP that remove every temporary file and then
  /// exit with 128 + the signal number, as shells report a killed process.
  ///
  /// The signals are also unblocked on the calling thread (call it from the main thread before
  /// any other starts, so every thread inherits that): a process started with them blocked, as
  /// a parent's worker thread may start it, would otherwise never see SIGTERM.
  public static func installSignalHandlers() {
    var signals = sigset_t()
    sigemptyset(&signals)
    for signalNumber in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&signals, signalNumber) }
    pthread_sigmask(SIG_UNBLOCK, &signals, nil)
    for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
      signal(signalNumber) { received in
        // Other threads keep running while this one cleans up. A writer registers its path
        // before creating the file and removes the file itself once it sees the flag, and the
        // second pass catches a file created between the first pass and that check.
        TemporaryFiles.terminating.store(true, ordering: .sequentiallyConsistent)
        TemporaryFiles.removeAll()
        var pause = timespec(tv_sec: 0, tv_nsec: 50_000_000)
        nanosleep(&pause, nil)
        TemporaryFiles.removeAll()
        _exit(128 + received)
      }
    }
  }
}
