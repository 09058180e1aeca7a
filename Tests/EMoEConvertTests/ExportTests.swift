import EMoEConvert
import EMoECore
import EMoEFormats
import EMoETestSupport
import Foundation
import Testing

/// Exports checked by `check_export.py`: the safetensors folder loads in the Python
/// `safetensors` package and its FFNs, computed with numpy, equal the source's (float64,
/// relative 1e-8: only the order of the sum over neurons changes); the GGUF reads with
/// `gguf.GGUFReader` with llama.cpp's MoE tensors, shapes and keys, and at k = E its MoE FFN, as
/// llama.cpp weights experts, equals the dense source FFN.
@Suite("export: safetensors and GGUF against numpy")
struct ExportTests {
  static let fixtures = ["bert-tiny", "gpt2-tiny", "llama-tiny"]

  @Test(
    "safetensors, dense and experts layouts",
    .enabled(if: Oracles.python(["numpy", "safetensors"])), arguments: fixtures)
  func safetensors(fixture: String) throws {
    try PythonOracle.require(["numpy", "safetensors"])
    let directory = try TemporaryDirectory()
    let source = ConvertTestSupport.fixture(fixture)
    let (path, _) = try ConvertTestSupport.convert(
      source, ConversionOptions(experts: 4, layers: "all"), into: directory)
    let container = try ContainerFile(path: path)
    for layout in SafeTensorsExport.Layout.allCases {
      let folder = directory.file(layout.rawValue)
      let files = try SafeTensorsExport(container: container, layout: layout).write(to: folder)
      #expect(files.last == folder + "/config.json")
      let report = try ConvertTestSupport.runOracle(
        "check_export.py",
        [source, path, folder, layout == .dense ? "safetensors" : "experts"])
      #expect(report["ok"]?.boolValue == true, "\(layout): \(report)")
      let config = try JSONValue.parse(
        String(decoding: try ConvertTestSupport.bytes(folder + "/config.json"), as: UTF8.self))
      #expect(config["n_expert"]?.intValue == 4)
      #expect(config["topk"]?.intValue == 1)
      #expect(config["emoe"]?["layout"]?.stringValue == layout.rawValue)
      let original = try JSONValue.parse(
        String(decoding: try ConvertTestSupport.bytes(source + "/config.json"), as: UTF8.self))
      #expect(config["model_type"] == original["model_type"])
      // Every layer is converted, from 0 every 1.
      #expect(config["split_start_layer"]?.intValue == 0)
      #expect(config["split_every_layer"]?.intValue == 1)
      let file = try SafeTensorsFile(path: folder + "/model.safetensors")
      #expect(file.metadata == .safetensors([("format", "pt")]))
    }
  }

  @Test("safetensors from int8 experts is F32 and close to the source")
  func quantisedToSafetensors() throws {
    let directory = try TemporaryDirectory()
    let (path, _) = try ConvertTestSupport.convert(
      ConvertTestSupport.fixture("llama-tiny"),
      ConversionOptions(experts: 4, layers: "2", quantize: .int8), into: directory)
    let folder = directory.file("out")
    try SafeTensorsExport(container: try ContainerFile(path: path)).write(to: folder)
    let exported = try SafeTensorsFile(path: folder + "/model.safetensors")
    let source = try SafeTensorsFile(
      path: ConvertTestSupport.fixture("llama-tiny") + "/model.safetensors")
    for name in ["gate_proj", "up_proj", "down_proj"] {
      let tensor = try exported.tensor(named: "model.layers.2.mlp.\(name).weight")
      #expect(tensor.dtype == .f32)
      #expect(tensor.shape == (try source.tensor(named: "model.layers.2.mlp.\(name).weight")).shape)
    }
    let layer1 = try exported.tensor(named: "model.layers.1.mlp.gate_proj.weight")
    let original = try source.tensor(named: "model.layers.1.mlp.gate_proj.weight")
    #expect(layer1.withUnsafeBytes { Array($0) } == original.withUnsafeBytes { Array($0) })
  }

  @Test("the experts layout refuses uneven experts")
  func unevenExperts() throws {
    let directory = try TemporaryDirectory()
    let (path, _) = try ConvertTestSupport.convert(
      ConvertTestSupport.fixture("bert-tiny"),
      ConversionOptions(experts: 3, layers: "1", allowUneven: true), into: directory)
    let export = SafeTensorsExport(container: try ContainerFile(path: path), layout: .experts)
    #expect(throws: ConversionError.self) { try export.write(to: directory.file("out")) }
  }

  @Test("GGUF export of a safetensors-made container needs the source's tokenizer.json")
  func ggufNeedsGGUFSource() throws {
    let directory = try TemporaryDirectory()
    let (path, _) = try ConvertTestSupport.convert(
      ConvertTestSupport.fixture("llama-tiny"), ConversionOptions(experts: 4, layers: "all"),
      into: directory)
    let export = GGUFExport(container: try ContainerFile(path: path))
    // The container lies in a fresh folder without tokenizer files, and no source is given.
    let error = #expect(throws: ConversionError.self) {
      try export.write(to: directory.file("out.gguf"))
    }
    #expect("\(error.map { "\($0)" } ?? "")".contains("tokenizer.json does not exist"))
    #expect(!FileSystem.exists(directory.file("out.gguf")))
  }

  @Test(
    "SmolLM2 to GGUF: ernie4_5-moe for a layer subset, dense-exact at k = E",
    .enabled(if: Oracles.python(["numpy", "gguf"])), .enabled(if: Oracles.smolLM2))
  func smolLM2() throws {
    let model = try #require(try TestPaths.smolLM2())
    try PythonOracle.require(["numpy", "gguf"])
    let directory = try TemporaryDirectory()
    let (path, _) = try ConvertTestSupport.convert(
      model, ConversionOptions(experts: 16, layers: "27,29", restarts: 1), into: directory)
    let container = try ContainerFile(path: path)
    let output = directory.file("moe.gguf")
    // F32 down (no second quantisation), so the MoE FFN can be checked against the dense one.
    let export = GGUFExport(container: container, precision: .f32Down)
    #expect(try export.target() == .ernie)
    let unclustered = try export.write(to: output)
    #expect(unclustered == Array(0..<27) + [28])
    // Layer 3 is a leading dense layer, 28 an unconverted layer held by the shared expert, 27
    // and 29 were clustered.
    let report = try ConvertTestSupport.runOracle(
      "check_export.py", [model, path, output, "gguf", "3,27,28,29"])
    #expect(report["ok"]?.boolValue == true, "\(report)")
    #expect(report["architecture"]?.stringValue == "ernie4_5-moe")
    #expect(report["expert_count"]?.intValue == 16)
    #expect(report["expert_used_count"]?.intValue == 16)
    let file = try GGUFFile(path: output)
    #expect(file.value(forKey: "ernie4_5-moe.feed_forward_length") == .uint32(1536))
    #expect(file.value(forKey: "ernie4_5-moe.expert_feed_forward_length") == .uint32(96))
    #expect(file.value(forKey: "ernie4_5-moe.leading_dense_block_count") == .uint32(27))
    #expect(
      file.value(forKey: "emoe.layers")
        == .array(elementType: .int32, elements: [.int32(27), .int32(29)]))
    #expect(file.value(forKey: "emoe.router") == .string("zero"))
    #expect(file.tensorDescription(named: "blk.29.ffn_gate_exps.weight")?.dtype == .q4_1)
    #expect(
      file.tensorDescription(named: "blk.29.ffn_down_exps.weight")?.dimensions == [96, 576, 16])
    #expect(file.tensorDescription(named: "blk.29.ffn_gate.weight") == nil)
    #expect(file.tensorDescription(named: "blk.26.ffn_gate.weight") != nil)
    #expect(file.tensorDescription(named: "blk.28.ffn_down_shexp.weight")?.dtype != nil)
    // Every other key is kept with its exact type, under the new architecture's prefix.
    let source = try GGUFFile(path: model)
    for (key, value) in source.keyValues
    where !key.hasPrefix("llama.feed_forward") && key != "general.architecture" {
      let renamed = key.hasPrefix("llama.") ? "ernie4_5-moe." + key.dropFirst(6) : key
      #expect(file.value(forKey: renamed) == value, "\(key)")
    }
    // k < E works for a subset too (the ernie4_5-moe layout routes only converted layers).
    try GGUFExport(container: container, expertsUsed: 4).write(to: directory.file("k4.gguf"))
    #expect(try GGUFFile(path: directory.file("k4.gguf")).value(forKey: "emoe.router_scale") != nil)
  }

  @Test(
    "SmolLM2, every layer converted: llama.cpp's llama MoE layout, dense-exact at k = E",
    .enabled(if: Oracles.python(["numpy", "gguf"])), .enabled(if: Oracles.smolLM2))
  func smolLM2AllLayers() throws {
    let model = try #require(try TestPaths.smolLM2())
    try PythonOracle.require(["numpy", "gguf"])
    let directory = try TemporaryDirectory()
    let (path, _) = try ConvertTestSupport.convert(
      model, ConversionOptions(experts: 8, layers: "all", restarts: 1), into: directory)
    let container = try ContainerFile(path: path)
    let output = directory.file("moe.gguf")
    #expect(try GGUFExport(container: container, precision: .f32Down).write(to: output).isEmpty)
    let report = try ConvertTestSupport.runOracle(
      "check_export.py", [model, path, output, "gguf", "0,29"])
    #expect(report["ok"]?.boolValue == true, "\(report)")
    #expect(report["architecture"]?.stringValue == "llama")
    let file = try GGUFFile(path: output)
    #expect(file.value(forKey: "llama.feed_forward_length") == .uint32(192))
    #expect(file.value(forKey: "emoe.router_scale") == nil)
  }
}
