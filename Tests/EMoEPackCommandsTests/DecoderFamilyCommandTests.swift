import EMoECore
import EMoETestSupport
import Foundation
import Testing

/// The newer decoder families through the command line: Gemma 2 converts with its GELU-tanh
/// gate and verifies whole-model; Gemma 3, which has no whole-model runner yet, converts but
/// `verify --model` refuses it by name (exit 2) instead of approximating it as LLaMA.
@Suite("emoe-pack on Gemma-family decoders")
struct DecoderFamilyCommandTests {
  static func convert(_ folder: String, into output: String) throws -> JSONValue {
    let result = try CommandRunner.run([
      "convert", folder, output, "--experts", "4", "--top-k", "2", "--layers", "all",
      "--restarts", "1", "--quiet", "--json",
    ])
    try #require(result.status == 0, "convert: \(result.stderr)")
    return try JSONValue.parse(result.stdout)
  }

  @Test(
    "Gemma 2 converts as Gemma 2 with gelu_tanh and passes verify --model at k = E",
    .enabled(if: Oracles.python(["torch", "transformers", "safetensors"])))
  func gemma2() throws {
    try PythonOracle.require(["torch", "transformers", "safetensors"])
    let directory = try TemporaryDirectory()
    let folder = try TinyDecoders.make("gemma2", in: directory)
    let output = directory.file("gemma2.emoe")
    let summary = try Self.convert(folder, into: output)
    #expect(summary.serialized().contains("gelu_tanh"), "\(summary.prettySerialized())")
    let verify = try CommandRunner.run([
      "verify", output, "--source", folder, "--model", "--tokens", "10", "--json",
    ])
    #expect(verify.status == 0, "\(verify.stdout)\n\(verify.stderr)")
    let report = try JSONValue.parse(verify.stdout)
    let checks = report["checks"]?.arrayValue ?? []
    let full = try #require(checks.first { $0["name"]?.stringValue == "model k=E" })
    #expect(full["ok"] == .bool(true), "\(full.prettySerialized())")
  }

  @Test(
    "Gemma 3 converts, and verify --model refuses it by family with exit 2",
    .enabled(if: Oracles.python(["torch", "transformers", "safetensors"])))
  func gemma3() throws {
    try PythonOracle.require(["torch", "transformers", "safetensors"])
    let directory = try TemporaryDirectory()
    let folder = try TinyDecoders.make("gemma3", in: directory)
    let output = directory.file("gemma3.emoe")
    _ = try Self.convert(folder, into: output)
    let verify = try CommandRunner.run(["verify", output, "--source", folder, "--model"])
    #expect(verify.status == 2)
    #expect(verify.stderr.contains("this model is Gemma 3"), "\(verify.stderr)")
  }
}
