/// Pauses a command at a fixed point so a test can change the file system underneath it
/// deterministically (docs/reliability.md, "Limits on what a file may claim").
///
/// Inert unless `EMOE_TEST_PAUSE_AFTER_TEMPORARY` names a marker path: then, the first time a
/// temporary output file is created (the inputs are open and mapped by then), the process writes
/// the marker file and waits (at most 60 s) until the test removes it.
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
}
