import EMoECore
import EMoETestSupport
import Foundation
import Testing

/// A config.json that contradicts the tensors is refused at convert time (exit 2), naming
/// config.json, the key and both values, instead of being recorded in the container.
@Suite("convert checks config.json against the tensors")
struct ConfigContradictionTests {
  /// Copies llama-tiny (d 64, n 256, 4 layers) with one config.json key replaced by `value`
  /// (raw JSON text) and converts it; returns the result, the config's path, and whether a
  /// container was written.
  static func convert(_ key: String, _ value: String, fixture: String = "llama-tiny") throws -> (
    ChildProcess.Output, String, Bool
  ) {
    let directory = try TemporaryDirectory()
    let folder = TestPaths.fixtures + "/models/" + fixture
    try FileManager.default.copyItem(
      atPath: folder + "/model.safetensors", toPath: directory.file("model.safetensors"))
    let text = try String(contentsOfFile: folder + "/config.json", encoding: .utf8)
    let pattern = try Regex(#""\#(key)": *[^,}\n]+"#)
    #expect(text.contains(pattern), "\(key) not in \(fixture)'s config.json")
    let edited = text.replacing(pattern, with: #""\#(key)": \#(value)"#)
    let config = directory.file("config.json")
    try edited.write(toFile: config, atomically: false, encoding: .utf8)
    let output = directory.file("out.emoe")
    let result = try CommandRunner.run(
      ["convert", directory.file("model.safetensors"), output, "--restarts", "1"])
    return (result, config, FileManager.default.fileExists(atPath: output))
  }

  @Test(
    "a size or layer count that contradicts the tensors exits 2 naming the key and both values",
    arguments: [
      ("hidden_size", "128", ["says 128", "d = 64"]),
      ("intermediate_size", "512", ["says 512", "n = 256"]),
      ("num_hidden_layers", "2", ["says 2 layers", "0...3 (4 layers)"]),
      ("num_hidden_layers", "9223372036854775807", ["says 9223372036854775807 layers"]),
    ])
  func contradiction(key: String, value: String, phrases: [String]) throws {
    let (result, config, written) = try Self.convert(key, value)
    #expect(result.status == 2, "\(result.stderr)")
    #expect(!written)
    #expect(result.stderr.contains("\(config): key '\(key)'"), "\(result.stderr)")
    for phrase in phrases {
      #expect(result.stderr.contains(phrase), "'\(phrase)' not in \(result.stderr)")
    }
  }

  @Test(
    "a value that is not a positive integer exits 2 naming the key and the value",
    arguments: [
      ("hidden_size", #""64""#, #"not "64" (string)"#),
      ("intermediate_size", "-256", "not -256"),
      ("num_hidden_layers", "4.5", "not 4.5"),
      ("hidden_size", "0", "not 0"),
      ("num_hidden_layers", "18446744073709551615", "not 18446744073709551615"),
    ])
  func wrongType(key: String, value: String, phrase: String) throws {
    let (result, config, written) = try Self.convert(key, value)
    #expect(result.status == 2, "\(result.stderr)")
    #expect(!written)
    #expect(result.stderr.contains("\(config): key '\(key)'"), "\(result.stderr)")
    #expect(result.stderr.contains("must be a positive integer, \(phrase)"), "\(result.stderr)")
  }

  @Test("GPT-2's n_embd and n_layer are checked too; a null n_inner is left to its default")
  func gpt2Keys() throws {
    let embedding = try Self.convert("n_embd", "96", fixture: "gpt2-tiny")
    #expect(embedding.0.status == 2, "\(embedding.0.stderr)")
    #expect(embedding.0.stderr.contains("key 'n_embd': says 96, but tensor 'h.0.mlp.c_fc.weight'"))
    let layers = try Self.convert("n_layer", "3", fixture: "gpt2-tiny")
    #expect(layers.0.status == 2, "\(layers.0.stderr)")
    #expect(layers.0.stderr.contains("key 'n_layer': says 3 layers"))
    let inner = try Self.convert("n_inner", "null", fixture: "gpt2-tiny")
    #expect(inner.0.status == 0, "\(inner.0.stderr)")
  }
}
