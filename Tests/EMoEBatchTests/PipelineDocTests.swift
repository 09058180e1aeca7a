import EMoECore
import EMoEFormats
import EMoETestSupport
import Foundation
import Testing

/// Runs the examples of docs/pipelines.md for real: the Makefile with the built emoe-pack on
/// the fixture models, and every leg of the CI matrix's conversion step.
@Suite("docs/pipelines.md: the Makefile and CI matrix examples run", .serialized)
struct PipelineDocTests {
  static let examples = TestPaths.repositoryRoot + "/docs/examples"
  static let names = ["bert-tiny", "gpt2-tiny", "llama-tiny"]

  static func read(_ path: String) throws -> String {
    try String(contentsOfFile: path, encoding: .utf8)
  }

  /// Runs `command` with bash in `directory`, returning the exit status and both outputs
  /// (stderr joined to stdout by the shell, so the log keeps their order).
  static func shell(_ command: String, in directory: String) throws -> (Int32, String) {
    let result = try ChildProcess.run(
      "/bin/bash", ["-euo", "pipefail", "-c", "{ \(command)\n} 2>&1"], directory: directory)
    return (result.status, result.stdout + result.stderr)
  }

  /// `make -f docs/examples/pipeline.mk EMOE_PACK=... arguments` in `directory`.
  static func make(_ arguments: String, in directory: String) throws -> (Int32, String) {
    try shell(
      "make --no-print-directory -f '\(examples)/pipeline.mk' EMOE_PACK='\(CommandRunner.executable)' \(arguments)",
      in: directory)
  }

  @Test("the documentation includes each example file verbatim")
  func examplesAreVerbatim() throws {
    let doc = try Self.read(TestPaths.repositoryRoot + "/docs/pipelines.md")
    for (file, fence) in [
      ("pipeline.mk", "make"), ("batch.json", "json"), ("ci-matrix.yml", "yaml"),
    ] {
      let text = try Self.read("\(Self.examples)/\(file)")
      #expect(doc.contains("```\(fence)\n\(text)```"), "docs/pipelines.md lacks \(file) verbatim")
    }
  }

  @Test("the Makefile converts, does nothing the second time, and reruns only a changed model")
  func makefile() throws {
    let workspace = try TemporaryDirectory()
    try FileManager.default.createDirectory(
      atPath: workspace.file("models"), withIntermediateDirectories: true)
    for name in Self.names {
      try FileManager.default.copyItem(
        atPath: TestPaths.fixtures + "/models/" + name, toPath: workspace.file("models/" + name))
    }
    let (status, log) = try Self.make("all", in: workspace.path)
    #expect(status == 0, "\(log)")
    for name in Self.names {
      let report = try ContainerIntegrity.verify(path: workspace.file("out/\(name).emoe"))
      #expect(report.ok)
      let rule = try Self.read(workspace.file("out/\(name).d"))
      #expect(
        rule == "out/\(name).emoe: models/\(name)/model.safetensors models/\(name)/config.json\n")
    }

    let (upToDate, _) = try Self.make("-q all", in: workspace.path)
    #expect(upToDate == 0, "make -q: the second run would do work")
    let (_, again) = try Self.make("all", in: workspace.path)
    #expect(!again.contains(" convert "), "\(again)")

    // A changed config.json (named only by the depfile) reruns that model alone.
    try (try Self.read(workspace.file("models/gpt2-tiny/config.json")) + "\n").write(
      toFile: workspace.file("models/gpt2-tiny/config.json"), atomically: false, encoding: .utf8)
    let (_, plan) = try Self.make("-n all", in: workspace.path)
    let commands = plan.split(separator: "\n").filter { $0.contains(" convert ") }
    #expect(commands.count == 1 && commands[0].contains("models/gpt2-tiny/"), "\(plan)")

    // The batch target: converts once, then skips everything.
    try FileManager.default.copyItem(
      atPath: Self.examples + "/batch.json", toPath: workspace.file("batch.json"))
    for round in 0..<2 {
      let (status, log) = try Self.make("batch", in: workspace.path)
      #expect(status == 0, "\(log)")
      let summary = try JSONValue.parse(try Self.read(workspace.file("out/batch-summary.json")))
      let expected = round == 0 ? "converted" : "skipped"
      #expect(
        (summary["jobs"]?.arrayValue ?? []).map { $0["status"]?.stringValue }
          == Array(repeating: expected, count: 3))
    }
    #expect(FileSystem.exists(workspace.file("out/batch/llama-tiny-hf/model.safetensors")))
  }

  @Test("every leg of the CI matrix's convert step succeeds")
  func ciMatrix() throws {
    let yaml = try Self.read(Self.examples + "/ci-matrix.yml")
    let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    // The matrix: `model: [a, b, c]`.
    let matrixLine = try #require(
      lines.first { $0.trimmingCharacters(in: .whitespaces).hasPrefix("model: [") })
    let models = matrixLine.split(separator: "[")[1].split(separator: "]")[0]
      .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    #expect(models == Self.names)
    // The step's script: the indented block after `run: |` of the step named `convert and verify`.
    let step = try #require(lines.firstIndex { $0.contains("name: convert and verify") })
    let run = try #require(lines[step...].firstIndex { $0.contains("run: |") })
    let indent = lines[run + 1].prefix { $0 == " " }.count
    let script = lines[(run + 1)...].prefix { $0.hasPrefix(String(repeating: " ", count: indent)) }
      .map { String($0.dropFirst(indent)) }.joined(separator: "\n")
    #expect(script.contains("make -f docs/examples/pipeline.mk"))

    for model in models {
      // A checkout-like folder: the repository's docs and fixtures, the built binary in place of
      // .build/release/emoe-pack, outputs written into the folder.
      let checkout = try TemporaryDirectory()
      for entry in ["docs", "Fixtures"] {
        try FileManager.default.createSymbolicLink(
          atPath: checkout.file(entry), withDestinationPath: TestPaths.repositoryRoot + "/" + entry)
      }
      let leg = script.replacingOccurrences(of: "${{ matrix.model }}", with: model)
        .replacingOccurrences(of: ".build/release/emoe-pack", with: CommandRunner.executable)
      let (status, log) = try Self.shell(leg, in: checkout.path)
      #expect(status == 0, "leg \(model):\n\(log)")
      #expect(FileSystem.exists(checkout.file("out/\(model).emoe")))
      let inspected = try JSONValue.parse(try Self.read(checkout.file("out/\(model).json")))
      #expect(inspected.objectValue != nil)
    }
  }
}
