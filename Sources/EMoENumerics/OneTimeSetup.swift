import Synchronization

/// Runs a closure exactly once, the first time ``ensure()`` is called, from any thread.
final class OneTimeSetup: Sendable {
  private let done = Atomic<Bool>(false)
  private let lock = Mutex<Void>(())
  private let action: @Sendable () -> Void

  init(_ action: @escaping @Sendable () -> Void) { self.action = action }

  func ensure() {
    if done.load(ordering: .acquiring) { return }
    lock.withLock { _ in
      if done.load(ordering: .relaxed) { return }
      action()
      done.store(true, ordering: .releasing)
    }
  }
}
