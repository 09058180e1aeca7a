/// A snapshot of a running batch, passed to the progress callback whenever a job starts or
/// finishes.
public struct BatchProgress: Sendable {
  /// What just happened.
  public enum Event: Sendable {
    /// The job at this manifest position started.
    case started(Int)
    /// A job finished (converted, skipped or failed).
    case finished(BatchJobResult)
  }

  /// What just happened.
  public var event: Event
  /// Jobs in the manifest.
  public var total: Int
  /// Jobs finished so far (converted, skipped or failed).
  public var done: Int
  /// Jobs running now.
  public var running: Int
  /// Jobs that failed so far.
  public var failed: Int
  /// Jobs skipped as up to date so far.
  public var skipped: Int

  /// `3/10 done, 2 running, 1 failed, 4 skipped`.
  public var line: String {
    "\(done)/\(total) done, \(running) running, \(failed) failed, \(skipped) skipped"
  }
}
