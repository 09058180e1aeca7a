import Foundation

/// Runs Python scripts that use numpy, safetensors and gguf as independent oracles.
public enum PythonOracle {
  /// The result of one script run.
  public typealias Output = ChildProcess.Output

  /// Whether `python3` can import every module in `modules`.
  public static func canImport(_ modules: [String]) -> Bool {
    (try? run("import " + modules.joined(separator: ", ")))?.status == 0
  }

  /// Returns normally when the modules are importable; otherwise throws when oracles are required
  /// and returns `false` when the test may be skipped.
  public static func available(_ modules: [String]) throws -> Bool {
    if canImport(modules) { return true }
    if TestPaths.oraclesRequired {
      throw OracleMissing(
        what: "python3 modules \(modules) (pip install -r scripts/requirements.txt)")
    }
    return false
  }

  /// Returns when every module in `modules` imports; throws ``OracleMissing`` otherwise.
  ///
  /// For tests whose `.enabled(if: Oracles.python(...))` trait already decided they run.
  public static func require(_ modules: [String]) throws {
    guard canImport(modules) else {
      throw OracleMissing(
        what: "python3 modules \(modules) (pip install -r scripts/requirements.txt)")
    }
  }

  /// Runs `script` with `python3 -c`, passing `arguments` as `sys.argv[1...]`.
  public static func run(_ script: String, arguments: [String] = []) throws -> Output {
    try ChildProcess.run("/usr/bin/env", ["python3", "-c", script] + arguments)
  }

  /// Runs `script` and returns its stdout, throwing with its stderr when it fails.
  public static func check(_ script: String, arguments: [String] = []) throws -> String {
    let output = try run(script, arguments: arguments)
    guard output.status == 0 else { throw PythonScriptFailed(output: output) }
    return output.stdout
  }
}

/// A Python oracle script that exited with a failure.
public struct PythonScriptFailed: Error, CustomStringConvertible {
  /// The script's output.
  public var output: PythonOracle.Output
  /// A readable message with the script's stderr.
  public var description: String {
    "python3 exited with \(output.status): \(output.stderr)"
  }
}
