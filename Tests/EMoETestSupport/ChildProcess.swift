import Foundation

/// Runs a child process and collects its output: the one place tests start processes.
public enum ChildProcess {
  /// The result of one run.
  public struct Output: Sendable {
    /// The exit status, or the signal number when a signal ended the process.
    public var status: Int32
    /// Everything written to stdout.
    public var stdout: String
    /// Everything written to stderr.
    public var stderr: String
    /// Whether the process exited (rather than being ended by a signal).
    public var exited: Bool = true
  }

  /// A child running in the background, its output drained on two threads so neither pipe can
  /// fill up and block it.
  public final class Running: @unchecked Sendable {
    private let process: Process
    private let finished = DispatchSemaphore(value: 0)
    private let drained = DispatchGroup()
    private var outData = Data()
    private var errData = Data()

    fileprivate init(_ process: Process, out: Pipe, err: Pipe) throws {
      self.process = process
      process.terminationHandler = { [finished] _ in finished.signal() }
      try process.run()
      drain(out) { self.outData = $0 }
      drain(err) { self.errData = $0 }
    }

    private func drain(_ pipe: Pipe, into store: @escaping @Sendable (Data) -> Void) {
      drained.enter()
      DispatchQueue.global().async { [drained] in
        store(pipe.fileHandleForReading.readDataToEndOfFile())
        drained.leave()
      }
    }

    /// Whether the child is still running.
    public var isRunning: Bool { process.isRunning }

    /// Sends `signal` to the child.
    public func send(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for the child to end and returns its output; at `deadline` kills it with SIGKILL
    /// and returns `nil`.
    public func wait(deadline: DispatchTime = .distantFuture) -> Output? {
      guard finished.wait(timeout: deadline) == .success else {
        send(SIGKILL)
        process.waitUntilExit()
        drained.wait()
        return nil
      }
      drained.wait()
      process.waitUntilExit()
      return Output(
        status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData, as: UTF8.self),
        exited: process.terminationReason == .exit)
    }
  }

  /// Runs `executable` with `arguments` (in `directory`, when given); stdin is empty.
  public static func run(
    _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
    directory: String? = nil
  ) throws -> Output {
    // With no deadline the child is never killed, so there is always an output.
    try start(executable, arguments, environment: environment, directory: directory).wait()!
  }

  /// Runs `executable` like ``run(_:_:environment:directory:)`` but kills it after `timeout`
  /// seconds and returns `nil` then, so a test of something that could hang (a FIFO, a runaway
  /// loop) fails instead of blocking the suite.
  public static func run(
    _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
    timeout: TimeInterval
  ) throws -> Output? {
    try start(executable, arguments, environment: environment).wait(deadline: .now() + timeout)
  }

  /// Starts `executable` in the background, for tests that act on it while it runs (send a
  /// signal, change its input); stdin is empty.
  public static func start(
    _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
    directory: String? = nil
  ) throws -> Running {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    return try Running(process, out: out, err: err)
  }
}
