/// Hooks through which end-to-end tests observe or steer a running command; each is inert unless
/// its environment variable is set.
///
/// `EMOE_TEST_PAUSE_AFTER_TEMPORARY` pauses a command at a fixed point so a test can change the
/// file system underneath it deterministically (docs/reliability.md, "Limits on what a file may
/// claim"): when it names a marker path, the first time a temporary output file is created (the
/// inputs are open and mapped by then), the process writes the marker file and waits (at most
/// 60 s) until the test removes it.
///
/// `EMOE_TEST_HASH_LOG` counts SHA-256 passes: when it names a file, every read of a whole file
/// for its digest appends that file's canonical path to it, one line per pass, so a test of the
/// real command can prove that each file was hashed at most once in the process.
enum TestHooks {
  /// The environment variable that names the marker file.
  static let pauseVariable = "EMOE_TEST_PAUSE_AFTER_TEMPORARY"
  nonisolated(unsafe) private static var paused = false

  /// Waits for the test when the hook is enabled and has not fired yet.
  static func pauseAfterTemporaryRegistered() {
    guard let value = getenv(pauseVariable), !paused else { return }
    paused = true
    let marker = String(cString: value)
    let descriptor = open(marker, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else { return }
    close(descriptor)
    for _ in 0..<6000 where access(marker, F_OK) == 0 { usleep(10_000) }
  }

  /// The environment variable that names the hash-pass log.
  static let hashLogVariable = "EMOE_TEST_HASH_LOG"

  /// Appends `path`'s canonical path to the hash-pass log when the hook is enabled.
  ///
  /// One `write` of one line to a file opened with `O_APPEND`, so concurrent passes on several
  /// threads (batch jobs) give whole lines.
  static func recordHashPass(of path: String) {
    guard let value = getenv(hashLogVariable) else { return }
    let descriptor = open(value, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else { return }
    defer { close(descriptor) }
    let line = Array((FileIdentity.canonicalPath(path) + "\n").utf8)
    _ = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
  }
}
