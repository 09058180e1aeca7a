import Foundation

/// Runs the built `emoe-pack` executable the way a user does, for end-to-end tests.
public enum CommandRunner {
  /// The result of one run.
  public struct Output: Sendable {
    /// The exit status.
    public var status: Int32
    /// Everything written to stdout.
    public var stdout: String
    /// Everything written to stderr.
    public var stderr: String
  }

  /// The `emoe-pack` binary beside the test bundle in the build products folder.
  public static var executable: String {
    var url = Bundle.main.bundleURL
    if url.pathExtension == "xctest" { url.deleteLastPathComponent() }
    let candidate = url.appendingPathComponent("emoe-pack").path
    if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    // Swift Testing runs inside the .xctest binary; its folder is the products folder.
    let fromArguments = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    return fromArguments.appendingPathComponent("emoe-pack").path
  }

  /// Runs `emoe-pack` with `arguments` and collects its output.
  public static func run(_ arguments: [String], environment: [String: String]? = nil) throws
    -> Output
  {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let group = DispatchGroup()
    nonisolated(unsafe) var errData = Data()
    group.enter()
    DispatchQueue.global().async {
      errData = err.fileHandleForReading.readDataToEndOfFile()
      group.leave()
    }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return Output(
      status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
      stderr: String(decoding: errData, as: UTF8.self))
  }
}
