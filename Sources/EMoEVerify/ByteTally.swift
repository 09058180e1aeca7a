import Synchronization

/// The bytes hashed so far across a source's files, for ``VerificationProgress``.
final class ByteTally: Sendable {
  private let done = Mutex(0)
  /// The bytes in all.
  let total: Int

  init(total: Int) { self.total = total }

  /// Adds `bytes` and returns the progress so far.
  func add(_ bytes: Int) -> VerificationProgress {
    let sum = done.withLock { value in
      value += bytes
      return value
    }
    return VerificationProgress(phase: .hashing, done: sum, total: total)
  }
}
