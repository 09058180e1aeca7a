import EMoEConvert
import EMoECore
import EMoEFormats
import EMoETestSupport
import Foundation

/// Conversions, oracle scripts and variant checkpoints shared by the conversion tests.
enum ConvertTestSupport {
  /// The tool recorded by test conversions.
  static let tool = ContainerTool(name: "emoe-pack", version: "0.1.0")

  /// A bundled fixture model's folder.
  static func fixture(_ name: String) -> String { TestPaths.fixtures + "/models/" + name }

  /// An oracle script in `Tests/Oracles`.
  static func oracle(_ name: String) -> String {
    TestPaths.repositoryRoot + "/Tests/Oracles/" + name
  }

  /// Runs an oracle script file with `arguments` and returns its JSON report, failing with the
  /// script's own message when it reports a failure.
  static func runOracle(_ script: String, _ arguments: [String]) throws -> JSONValue {
    let output = try PythonOracle.run(
      "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')",
      arguments: [oracle(script)] + arguments)
    let lines = output.stdout.split(separator: "\n")
    guard let last = lines.last, let report = try? JSONValue.parse(String(last)) else {
      throw OracleFailure(description: "\(script) exited \(output.status): \(output.stderr)")
    }
    return report
  }

  /// Converts `input` with `options` into `directory`, returning the container path and summary.
  static func convert(
    _ input: String, _ options: ConversionOptions, into directory: TemporaryDirectory,
    name: String = "model.emoe"
  ) throws -> (path: String, summary: ConversionSummary) {
    let path = directory.file(name)
    let plan = try ConversionPlan(input: input, options: options)
    let summary = try Converter(plan: plan, tool: tool).run(output: path)
    return (path, summary)
  }

  /// Writes a copy of the safetensors fixture `name` into `directory` and returns its path.
  ///
  /// Every tensor passes through `transform` (return `nil` to drop it); the fixture's
  /// `config.json` is copied too unless `config` is false.
  static func variant(
    of name: String, in directory: TemporaryDirectory, config: Bool = true,
    _ transform: (Tensor) throws -> Tensor?
  ) throws -> String {
    let source = try SafeTensorsFile(path: fixture(name) + "/model.safetensors")
    var tensors: [Tensor] = []
    for entry in source.entries {
      let tensor = source.tensor(for: entry)
      let owned = Tensor(
        name: tensor.name, dtype: tensor.dtype, shape: tensor.shape,
        storage: .owned(tensor.withUnsafeBytes { Array($0) }))
      if let changed = try transform(owned) { tensors.append(changed) }
    }
    let path = directory.file("model.safetensors")
    try SafeTensorsWriter.write(to: path, tensors: tensors)
    if config {
      try FileManager.default.copyItem(
        atPath: fixture(name) + "/config.json", toPath: directory.file("config.json"))
    }
    return path
  }

  /// The bytes of a file.
  static func bytes(_ path: String) throws -> Data {
    try Data(contentsOf: URL(fileURLWithPath: path))
  }

  /// The files left in `directory` (to check that failed runs leave nothing behind).
  static func files(in directory: TemporaryDirectory) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
  }
}

/// An oracle script that could not run or produced no report.
struct OracleFailure: Error, CustomStringConvertible {
  var description: String
}
