import Foundation

/// Runs the built `emoe-pack` executable the way a user does, for end-to-end tests.
public enum CommandRunner {
  /// The result of one run.
  public typealias Output = ChildProcess.Output

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
    try ChildProcess.run(executable, arguments, environment: environment)
  }
}
