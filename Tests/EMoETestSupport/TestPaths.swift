import EMoECore
import Foundation

/// Paths of the repository, its fixtures, and the real models fetched by `scripts/setup.sh`.
public enum TestPaths {
  /// The repository's root folder, found from this file's location.
  public static let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
  }()

  /// `Fixtures/` in the repository.
  public static var fixtures: String { repositoryRoot + "/Fixtures" }

  /// The folder holding the real models (`EMOE_MODELS_DIR` or `.cache/models`).
  public static var models: String {
    ProcessInfo.processInfo.environment["EMOE_MODELS_DIR"] ?? repositoryRoot + "/.cache/models"
  }

  /// Whether missing oracles (Python packages, real models) fail tests instead of skipping them.
  ///
  /// `make test` and CI set `EMOE_REQUIRE_ORACLES=1`.
  public static var oraclesRequired: Bool {
    ProcessInfo.processInfo.environment["EMOE_REQUIRE_ORACLES"] == "1"
  }

  /// The real all-MiniLM-L6-v2 checkpoint, or `nil` when it is absent and not required.
  public static func miniLM() throws -> String? {
    try realModel("all-MiniLM-L6-v2/model.safetensors")
  }

  /// The real SmolLM2-135M-Instruct Q4_1 GGUF, or `nil` when it is absent and not required.
  public static func smolLM2() throws -> String? {
    try realModel("SmolLM2-135M-Instruct.Q4_1.gguf")
  }

  /// Debian's `chromium` (installed by `scripts/setup.sh`), or `nil` when absent.
  public static var chromium: String? {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileSystem.exists($0) }
  }

  private static func realModel(_ relative: String) throws -> String? {
    let path = models + "/" + relative
    if FileSystem.exists(path) { return path }
    if oraclesRequired { throw OracleMissing(what: path + " (run scripts/fetch-models.sh)") }
    return nil
  }
}

/// An oracle that `make test` requires but that is not installed.
public struct OracleMissing: Error, CustomStringConvertible {
  /// What is missing.
  public var what: String
  /// A readable message.
  public var description: String { "test oracle missing: \(what)" }
}
