import Synchronization

/// Whether a test that needs an oracle runs: the condition of its `.enabled(if:)` trait.
///
/// Under `make test` (`EMOE_REQUIRE_ORACLES=1`) every such test runs, and a missing oracle fails
/// it. In a bare `swift test` a test whose oracle is missing is reported as skipped, never as a
/// pass it did not earn.
public enum Oracles {
  /// Whether the tests needing these Python modules run.
  public static func python(_ modules: [String]) -> Bool {
    if TestPaths.oraclesRequired { return true }
    let key = modules.sorted().joined(separator: ",")
    if let known = importable.withLock({ $0[key] }) { return known }
    let result = PythonOracle.canImport(modules)
    importable.withLock { $0[key] = result }
    return result
  }

  /// Whether the tests needing the real all-MiniLM-L6-v2 checkpoint run.
  public static var miniLM: Bool { TestPaths.oraclesRequired || (try? TestPaths.miniLM()) != nil }

  /// Whether the tests needing the real SmolLM2 GGUF run.
  public static var smolLM2: Bool {
    TestPaths.oraclesRequired || (try? TestPaths.smolLM2()) != nil
  }

  /// Whether the tests that render pages in headless Chromium run.
  public static var chromium: Bool {
    TestPaths.oraclesRequired || TestPaths.chromium != nil
  }

  private static let importable = Mutex<[String: Bool]>([:])
}
