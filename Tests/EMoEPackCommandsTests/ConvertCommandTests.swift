import EMoECore
import EMoEFormats
import EMoETestSupport
import Foundation
import Testing

/// `emoe-pack convert` and `export` end to end: exit codes, messages, no output on failure, the
/// JSON summary, the depfile, and that conversions repeat byte for byte.
@Suite("emoe-pack convert and export")
struct ConvertCommandTests {
  static func fixture(_ name: String) -> String { TestPaths.fixtures + "/models/" + name }

  /// A copy of `llama-tiny` (model and config) with `transform` applied to every tensor.
  static func variant(in directory: TemporaryDirectory, _ transform: (Tensor) throws -> Tensor?)
    throws -> String
  {
    let source = try SafeTensorsFile(path: fixture("llama-tiny") + "/model.safetensors")
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
    try FileManager.default.copyItem(
      atPath: fixture("llama-tiny") + "/config.json", toPath: directory.file("config.json"))
    return path
  }

  @Test("each validation error exits 2, names the layer and tensor, and writes nothing")
  func validationErrors() throws {
    let directory = try TemporaryDirectory()
    let missing = try TemporaryDirectory()
    let missingPath = try Self.variant(in: missing) {
      $0.name == "model.layers.2.mlp.down_proj.weight" ? nil : $0
    }
    let shape = try TemporaryDirectory()
    let shapePath = try Self.variant(in: shape) { tensor in
      guard tensor.name == "model.layers.2.mlp.down_proj.weight" else { return tensor }
      return Tensor(
        name: tensor.name, shape: [64, 128], float32: [Float](repeating: 0, count: 8192))
    }
    let unknown = try TemporaryDirectory()
    let unknownPath = unknown.file("weights.safetensors")
    try SafeTensorsWriter.write(
      to: unknownPath,
      tensors: [
        Tensor(
          name: "net.0.fc_in.weight", shape: [8, 4], float32: [Float](repeating: 1, count: 32)),
        Tensor(
          name: "net.0.fc_out.weight", shape: [4, 8], float32: [Float](repeating: 1, count: 32)),
      ])
    let llama = Self.fixture("llama-tiny")
    let cases: [(arguments: [String], phrases: [String])] = [
      (
        [llama, "--experts", "3"], ["layer 2", "model.layers.2.mlp.gate_proj.weight", "3 experts"]
      ),
      ([llama, "--top-k", "99"], ["top-k 99", "1...64"]),
      ([llama, "--experts", "512"], ["512 experts", "1...256"]),
      ([llama, "--layers", "last:9"], ["--layers last:9", "4 layers"]),
      ([missingPath, "--layers", "2"], ["layer 2", "model.layers.2.mlp.down_proj.weight"]),
      (
        [shapePath, "--layers", "2"],
        ["layer 2", "model.layers.2.mlp.down_proj.weight", "[64, 128]"]
      ),
      ([unknownPath], ["net.{L}.fc_in.weight", "--ffn-pattern"]),
    ]
    for (arguments, phrases) in cases {
      let output = directory.file("out.emoe")
      let result = try CommandRunner.run(
        ["convert"] + [arguments[0], output] + arguments.dropFirst())
      #expect(result.status == 2, "\(arguments): \(result.stderr)")
      for phrase in phrases {
        #expect(result.stderr.contains(phrase), "\(arguments): '\(phrase)' not in \(result.stderr)")
      }
      #expect(result.stderr.contains("Error: "))
      #expect(result.stdout.isEmpty)
      #expect(
        try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty,
        "\(arguments) left files behind")
    }
  }

  @Test("usage errors exit 64")
  func usageErrors() throws {
    let directory = try TemporaryDirectory()
    let llama = Self.fixture("llama-tiny")
    for arguments in [
      ["convert", llama], ["convert", llama, directory.file("o.emoe"), "--quantize", "q4"],
      ["convert", llama, directory.file("o.emoe"), "--layers", "2-1"],
      ["convert", llama, directory.file("o.emoe"), "--cluster-on", "down"],
      ["export", llama, directory.file("o"), "--to", "onnx"],
    ] {
      let result = try CommandRunner.run(arguments)
      #expect(result.status == 64, "\(arguments): \(result.stderr)")
    }
  }

  @Test("--json prints one summary; --depfile lists the input files; reruns are identical")
  func summaryDepfileAndDeterminism() throws {
    let directory = try TemporaryDirectory()
    let input = Self.fixture("llama-tiny-sharded")
    let first = directory.file("first.emoe")
    let depfile = directory.file("first.d")
    let result = try CommandRunner.run([
      "convert", input, first, "--experts", "8", "--layers", "1,3", "--json", "--depfile", depfile,
      "--threads", "1",
    ])
    #expect(result.status == 0, "\(result.stderr)")
    let summary = try JSONValue.parse(result.stdout)
    #expect(summary["output"]?.stringValue == first)
    #expect(summary["sha256"]?.stringValue == (try FileSystem.sha256(ofFile: first)))
    let layers = try #require(summary["layers"]?.arrayValue)
    #expect(layers.map { $0["layer"]?.intValue } == [1, 3])
    for layer in layers {
      #expect(layer["experts"]?.intValue == 8)
      #expect(layer["top_k"]?.intValue == 2)
      #expect(layer["n"]?.intValue == 256)
      #expect(layer["d"]?.intValue == 64)
      #expect(layer["keys"]?.stringValue == "gate")
      #expect(layer["expert_sizes"]?.arrayValue?.map(\.intValue) == Array(repeating: 32, count: 8))
      #expect((layer["sse"]?.doubleValue ?? -1) > 0)
      #expect((layer["iterations"]?.intValue ?? 0) >= 1)
      #expect(layer["seconds"]?.doubleValue != nil)
    }
    let totals = try #require(summary["totals"])
    #expect((totals["peak_rss_bytes"]?.intValue ?? 0) > 1 << 20)
    #expect(totals["bytes_in"]?.intValue == 519_104 + 519_424)
    #expect(totals["bytes_out"]?.intValue == FileSystem.size(first))
    #expect(summary["lossy"]?.arrayValue?.isEmpty == true)
    let depText = String(
      decoding: try Data(contentsOf: URL(fileURLWithPath: depfile)), as: UTF8.self)
    #expect(
      depText == "\(first): \(input)/model.safetensors.index.json "
        + "\(input)/model-00001-of-00002.safetensors \(input)/model-00002-of-00002.safetensors "
        + "\(input)/config.json\n")
    let second = directory.file("second.emoe")
    let again = try CommandRunner.run([
      "convert", input, second, "--experts", "8", "--layers", "1,3", "--threads", "2", "-q",
    ])
    #expect(again.status == 0, "\(again.stderr)")
    #expect(
      try Data(contentsOf: URL(fileURLWithPath: first))
        == Data(contentsOf: URL(fileURLWithPath: second)))
  }

  @Test("--compress takes an optional level; --quantize reports the lossy tensors")
  func compressAndQuantize() throws {
    let directory = try TemporaryDirectory()
    let input = Self.fixture("bert-tiny")
    let bare = try CommandRunner.run([
      "convert", input, directory.file("a.emoe"), "--compress", "--experts", "4", "-q",
    ])
    #expect(bare.status == 0, "\(bare.stderr)")
    let container = try ContainerFile(path: directory.file("a.emoe"))
    #expect(container.entries.allSatisfy { $0.declaration.compression == .zstd(level: 3) })
    let level = try CommandRunner.run([
      "convert", input, directory.file("b.emoe"), "--compress=7", "--experts", "4",
      "--quantize", "int8", "--json", "-q",
    ])
    #expect(level.status == 0, "\(level.stderr)")
    let other = try ContainerFile(path: directory.file("b.emoe"))
    #expect(other.entries.allSatisfy { $0.declaration.compression == .zstd(level: 7) })
    let summary = try JSONValue.parse(level.stdout)
    #expect(
      summary["lossy"]?.arrayValue?.compactMap(\.stringValue).sorted() == [
        "encoder.layer.0.intermediate.dense.weight", "encoder.layer.0.output.dense.weight",
        "encoder.layer.1.intermediate.dense.weight", "encoder.layer.1.output.dense.weight",
      ])
    let verify = try CommandRunner.run(["verify", directory.file("b.emoe")])
    #expect(verify.status == 0, "\(verify.stdout)")
  }

  @Test("export writes a safetensors folder; GGUF export of a safetensors model exits 2")
  func export() throws {
    let directory = try TemporaryDirectory()
    let container = directory.file("m.emoe")
    let convert = try CommandRunner.run([
      "convert", Self.fixture("gpt2-tiny"), container, "--experts", "4", "--layers", "1", "-q",
    ])
    #expect(convert.status == 0, "\(convert.stderr)")
    let folder = directory.file("hf")
    let export = try CommandRunner.run([
      "export", container, folder, "--to", "safetensors", "--layout", "experts", "-q",
    ])
    #expect(export.status == 0, "\(export.stderr)")
    let file = try SafeTensorsFile(path: folder + "/model.safetensors")
    #expect(file.entry(named: "h.1.mlp.experts.c_fc.weight")?.shape == [4, 48, 48])
    #expect(file.entry(named: "h.1.mlp.experts.c_proj.weight")?.shape == [4, 48, 48])
    #expect(file.entry(named: "h.1.mlp.gate.weight")?.shape == [4, 48])
    #expect(file.entry(named: "h.1.mlp.c_fc.weight") == nil)
    #expect(file.entry(named: "h.0.mlp.c_fc.weight")?.shape == [48, 192])
    let gguf = try CommandRunner.run([
      "export", container, directory.file("m.gguf"), "--to", "gguf",
    ])
    #expect(gguf.status == 2)
    #expect(gguf.stderr.contains("--to safetensors"))
    #expect(!FileSystem.exists(directory.file("m.gguf")))
  }
}
