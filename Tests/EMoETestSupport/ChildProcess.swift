import Foundation

/// Runs a child process to completion and collects its output.
public enum ChildProcess {
  /// The result of one run.
  public struct Output: Sendable {
    /// The exit status.
    public var status: Int32
    /// Everything written to stdout.
    public var stdout: String
    /// Everything written to stderr.
    public var stderr: String
  }

  /// Runs `executable` with `arguments`; stdin is empty.
  public static func run(
    _ executable: String, _ arguments: [String], environment: [String: String]? = nil
  ) throws -> Output {
    // With no deadline the child is never killed, so there is always an output.
    try launch(executable, arguments, environment: environment, deadline: .distantFuture)!
  }

  /// Runs `executable` like ``run(_:_:environment:)`` but kills it after `timeout` seconds and
  /// returns `nil` then, so a test of something that could hang (a FIFO, a runaway loop) fails
  /// instead of blocking the suite.
  public static func run(
    _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
    timeout: TimeInterval
  ) throws -> Output? {
    try launch(executable, arguments, environment: environment, deadline: .now() + timeout)
  }

  /// The one place a child process is started: output drained on two threads, so neither pipe
  /// can fill up and block the child; `nil` when it was killed at `deadline`.
  private static func launch(
    _ executable: String, _ arguments: [String], environment: [String: String]?,
    deadline: DispatchTime
  ) throws -> Output? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    let finished = DispatchSemaphore(value: 0)
    process.terminationHandler = { _ in finished.signal() }
    try process.run()
    let group = DispatchGroup()
    nonisolated(unsafe) var outData = Data()
    nonisolated(unsafe) var errData = Data()
    group.enter()
    DispatchQueue.global().async {
      outData = out.fileHandleForReading.readDataToEndOfFile()
      group.leave()
    }
    group.enter()
    DispatchQueue.global().async {
      errData = err.fileHandleForReading.readDataToEndOfFile()
      group.leave()
    }
    guard finished.wait(timeout: deadline) == .success else {
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
      group.wait()
      return nil
    }
    group.wait()
    process.waitUntilExit()
    return Output(
      status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
      stderr: String(decoding: errData, as: UTF8.self))
  }
}
