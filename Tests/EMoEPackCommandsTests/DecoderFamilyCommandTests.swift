import EMoECore
import EMoETestSupport
import Foundation
import Testing

/// The newer decoder families through the command line: Gemma 2 converts with its GELU-tanh
/// gate and verifies whole-model; Gemma 3, GPT-NeoX and OPT, which have no whole-model runner
/// yet, convert and verify per layer, but `verify --model` refuses them by name (exit 2)
/// instead of approximating them.
@Suite("emoe-pack on Gemma, GPT-NeoX and OPT decoders")
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

  @Test(
    "GPT-NeoX and OPT convert with their plain FFNs and verify; verify --model refuses them",
    .enabled(if: Oracles.python(["torch", "transformers", "safetensors"])),
    arguments: [
      ("gpt_neox", "GPT-NeoX (config.json model_type 'gpt_neox'): 2 layers, d 64, n 256, gelu"),
      ("opt", "OPT (config.json model_type 'opt'): 2 layers, d 64, n 256, relu"),
    ])
  func plainDecoders(family: String, architecture: String) throws {
    try PythonOracle.require(["torch", "transformers", "safetensors"])
    let directory = try TemporaryDirectory()
    let folder = try TinyDecoders.make(family, in: directory)
    let output = directory.file(family + ".emoe")
    let summary = try Self.convert(folder, into: output)
    #expect(summary["architecture"]?.stringValue == architecture)
    let verify = try CommandRunner.run(["verify", output, "--source", folder])
    #expect(verify.status == 0, "\(verify.stderr)")
    let model = try CommandRunner.run(["verify", output, "--source", folder, "--model"])
    #expect(model.status == 2)
    #expect(model.stderr.contains("this model is " + architecture.prefix { $0 != " " }))
  }
}
