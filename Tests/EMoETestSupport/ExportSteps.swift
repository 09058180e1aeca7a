import Foundation

/// The steps the end-to-end export tests share: run `emoe-pack` (convert, export, run) and the
/// oracle scripts of `Tests/Oracles`.
public enum ExportSteps {
  /// A step (an `emoe-pack` command or an oracle script) that failed, with its stderr.
  public struct StepFailed: Error, CustomStringConvertible {
    /// What failed and its stderr.
    public var description: String

    /// Creates the failure `description`.
    public init(description: String) {
      self.description = description
    }
  }

  /// Runs `emoe-pack` with `arguments` and returns its output, throwing unless it exits 0.
  @discardableResult
  public static func pack(_ arguments: [String]) throws -> CommandRunner.Output {
    let output = try CommandRunner.run(arguments)
    guard output.status == 0 else {
      throw StepFailed(
        description: "emoe-pack \(arguments.joined(separator: " ")) exited \(output.status): "
          + output.stderr)
    }
    return output
  }

  /// `emoe-pack convert model container options --quiet`.
  public static func convert(_ model: String, to container: String, _ options: [String]) throws {
    try pack(["convert", model, container] + options + ["--quiet"])
  }

  /// `emoe-pack export container output --to format extra --quiet`; returns its output.
  @discardableResult
  public static func export(
    _ container: String, to output: String, as format: String, _ extra: [String] = []
  ) throws -> CommandRunner.Output {
    try pack(["export", container, output, "--to", format] + extra + ["--quiet"])
  }

  /// Runs `Tests/Oracles/<script>` with `arguments` as `__main__`, whatever its exit status.
  public static func runOracle(_ script: String, _ arguments: [String]) throws
    -> PythonOracle.Output
  {
    try PythonOracle.run(
      "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')",
      arguments: [TestPaths.repositoryRoot + "/Tests/Oracles/" + script] + arguments)
  }

  /// Runs `Tests/Oracles/<script>` with `arguments` and returns its stdout, throwing unless it
  /// exits 0.
  public static func oracle(_ script: String, _ arguments: [String]) throws -> String {
    let output = try runOracle(script, arguments)
    guard output.status == 0 else {
      throw StepFailed(description: "\(script) exited \(output.status): \(output.stderr)")
    }
    return output.stdout
  }
}
