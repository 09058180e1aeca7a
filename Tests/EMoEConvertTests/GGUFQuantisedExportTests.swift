import EMoEConvert
import EMoECore
import EMoEFormats
import EMoETestSupport
import Foundation
import Testing

/// GGUF exports that keep block-quantised experts: the whole of SmolLM2 converted (E = 16, every
/// layer), exported at k = E (the source's blocks, in its neuron order) and at k = 15 (the
/// clusters' order, `ffn_down_exps` requantised), checked for size against the source, byte for
/// byte against gguf-py, and run by llama.cpp (llama-cpp-python) for perplexity.
@Suite("GGUF export: block-quantised experts, through llama.cpp", .serialized)
struct GGUFQuantisedExportTests {
  /// The perplexity change allowed at k = E against the dense source: the issue's 0.5 %.
  static let denseBound = 0.005

  /// At k = E every expert tensor of the export holds the source's own blocks: gate and up rows
  /// byte for byte, and down's values times E, per expert slice of the source's `ffn_down`.
  static let sourceBlocksScript = #"""
    import json, sys
    import numpy as np
    from gguf import GGUFReader
    from gguf.quants import dequantize
    export, source, experts = GGUFReader(sys.argv[1]), GGUFReader(sys.argv[2]), int(sys.argv[3])
    dense = {t.name: t for t in source.tensors}
    checked, mismatches = 0, []
    for t in export.tensors:
        if not t.name.endswith(("ffn_gate_exps.weight", "ffn_up_exps.weight", "ffn_down_exps.weight")):
            continue
        original = dense[t.name.replace("_exps", "")]
        checked += 1
        if t.tensor_type != original.tensor_type:
            mismatches.append(t.name + ": " + t.tensor_type.name)
            continue
        if "ffn_down" in t.name:
            want = dequantize(original.data, original.tensor_type).astype(np.float32) * np.float32(experts)
            d, n = want.shape
            want = want.reshape(d, experts, n // experts).transpose(1, 0, 2)
            same = np.array_equal(dequantize(t.data, t.tensor_type).reshape(want.shape), want)
        else:
            same = np.array_equal(np.asarray(t.data).view(np.uint8).reshape(-1),
                                  np.asarray(original.data).view(np.uint8).reshape(-1))
        if not same:
            mismatches.append(t.name)
    print(json.dumps({"checked": checked, "mismatches": mismatches}))
    """#

  /// For every layer, gguf-py's quantisation of the F32-down export's `ffn_down_exps` equals the
  /// default export's bytes, and the gate/up experts are the same bytes in both files.
  static let compareScript = #"""
    import json, sys
    import numpy as np
    from gguf import GGUFReader, GGMLQuantizationType as T, quants
    quantised, f32 = GGUFReader(sys.argv[1]), GGUFReader(sys.argv[2])
    reference = {t.name: t for t in f32.tensors}
    checked, mismatches = 0, []
    for t in quantised.tensors:
        other = reference[t.name]
        if t.name.endswith("ffn_down_exps.weight"):
            assert other.tensor_type == T.F32, t.name
            expected = quants.quantize(np.asarray(other.data, dtype=np.float32), t.tensor_type)
        elif t.name.endswith(("ffn_gate_exps.weight", "ffn_up_exps.weight")):
            expected = other.data
        else:
            continue
        checked += 1
        if not np.array_equal(np.asarray(t.data).view(np.uint8).reshape(-1),
                              np.asarray(expected).view(np.uint8).reshape(-1)):
            mismatches.append(t.name)
    print(json.dumps({"checked": checked, "mismatches": mismatches}))
    """#

  /// SmolLM2 with every layer converted (E = 16, one clustering restart), made once.
  ///
  /// Kept as `.cache/derived/SmolLM2-e16-all.emoe`; scripts/bench/llama_cpp.sh makes the same
  /// file with the same options. Written under another name and renamed, so an interrupted run
  /// leaves no container behind.
  static func allLayersContainer(_ model: String) throws -> String {
    let folder = TestPaths.repositoryRoot + "/.cache/derived"
    let path = folder + "/SmolLM2-e16-all.emoe"
    if FileSystem.exists(path) { return path }
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let partial = folder + "/SmolLM2-e16-all.\(ProcessInfo.processInfo.processIdentifier).emoe"
    let plan = try ConversionPlan(
      input: model, options: ConversionOptions(experts: 16, layers: "all", restarts: 1))
    _ = try Converter(plan: plan, tool: ConvertTestSupport.tool).run(output: partial)
    if rename(partial, path) != 0 { try? FileManager.default.removeItem(atPath: partial) }
    return path
  }

  /// Runs `script` with `arguments` and returns its last line as JSON.
  static func report(_ script: String, _ arguments: [String]) throws -> JSONValue {
    try JSONValue.parse(
      try PythonOracle.check(script, arguments: arguments)
        .split(separator: "\n").last.map(String.init) ?? "")
  }

  @Test(
    "SmolLM2, every layer E = 16, k = E: the source's blocks, ≤ 1.1× the source, llama.cpp perplexity",
    .enabled(if: Oracles.python(["numpy", "gguf", "llama_cpp"])), .enabled(if: Oracles.smolLM2))
  func smolLM2AllLayersDense() throws {
    let model = try #require(try TestPaths.smolLM2())
    try PythonOracle.require(["numpy", "gguf", "llama_cpp"])
    let directory = try TemporaryDirectory()
    let container = try ContainerFile(path: try Self.allLayersContainer(model))
    let output = directory.file("moe.gguf")
    let unclustered = try GGUFExport(container: container).write(to: output)
    #expect(unclustered.isEmpty)

    // Size: the issue's bar is 1.1× the source; only the zero routers are added.
    let sourceSize = try #require(FileSystem.size(model))
    let exportSize = try #require(FileSystem.size(output))
    let ratio = Double(exportSize) / Double(sourceSize)
    #expect(ratio <= 1.02, "export \(exportSize) B is \(ratio)× the source's \(sourceSize) B")

    let file = try GGUFFile(path: output)
    for layer in [0, 17, 29] {
      let down = file.tensorDescription(named: "blk.\(layer).ffn_down_exps.weight")
      #expect(down?.dtype == .q4_1)
      #expect(down?.dimensions == [96, 576, 16])
    }
    #expect(file.value(forKey: "emoe.down_type") == .string("Q4_1"))
    #expect(file.value(forKey: "emoe.expert_order") == .string("source"))
    #expect(file.value(forKey: "emoe.precision") == .string("source"))
    let source = try GGUFFile(path: model)
    #expect(file.value(forKey: "general.file_type") == source.value(forKey: "general.file_type"))

    // Blocks: every expert tensor is the source's, gate/up byte for byte, down times E.
    let blocks = try Self.report(Self.sourceBlocksScript, [output, model, "16"])
    #expect(blocks["checked"]?.intValue == 90)
    #expect(blocks["mismatches"] == .array([]), "\(blocks)")

    // llama.cpp loads it and its perplexity stays within the issue's 0.5 % of the dense model's.
    // 1,024 tokens: on 128 or 256 the same files differ by −0.26 % or −1.05 %, single Q8
    // rounding flips of llama.cpp's activations that average out over a longer text
    // (docs/export.md; a one-expert control of the dense GGUF equals it exactly).
    let report = try ConvertTestSupport.runOracle(
      "llama_cpp_perplexity.py", ["/usr/share/common-licenses/GPL-3", "1024", model, output])
    let models = report["models"]?.arrayValue ?? []
    try #require(models.count == 2, "\(report)")
    let dense = try #require(models[0]["perplexity"]?.doubleValue)
    let moe = try #require(models[1]["perplexity"]?.doubleValue)
    #expect(report["tokens"]?.intValue == 1024)
    #expect(models[1]["tensor_types"]?["Q4_1"]?.intValue == 210)
    #expect(
      abs(moe / dense - 1) <= Self.denseBound,
      "llama.cpp perplexity \(moe) against dense \(dense)")
  }

  @Test(
    "SmolLM2, every layer E = 16, k = 15: Q5_1 down, ≤ 1.1× the source, gguf-py's bytes",
    .enabled(if: Oracles.python(["numpy", "gguf"])), .enabled(if: Oracles.smolLM2))
  func smolLM2AllLayersSparse() throws {
    let model = try #require(try TestPaths.smolLM2())
    try PythonOracle.require(["numpy", "gguf"])
    let directory = try TemporaryDirectory()
    let container = try ContainerFile(path: try Self.allLayersContainer(model))
    let output = directory.file("k15.gguf")
    try GGUFExport(container: container, expertsUsed: 15).write(to: output)

    let sourceSize = try #require(FileSystem.size(model))
    let exportSize = try #require(FileSystem.size(output))
    let ratio = Double(exportSize) / Double(sourceSize)
    #expect(ratio <= 1.1, "export \(exportSize) B is \(ratio)× the source's \(sourceSize) B")

    // Types: gate/up keep the source's Q4_1 blocks, down is Q5_1 along n/E = 96.
    let file = try GGUFFile(path: output)
    for layer in [0, 17, 29] {
      let block = "blk.\(layer)."
      #expect(file.tensorDescription(named: block + "ffn_gate_exps.weight")?.dtype == .q4_1)
      #expect(file.tensorDescription(named: block + "ffn_up_exps.weight")?.dtype == .q4_1)
      let down = file.tensorDescription(named: block + "ffn_down_exps.weight")
      #expect(down?.dtype == .q5_1)
      #expect(down?.dimensions == [96, 576, 16])
    }
    #expect(file.value(forKey: "emoe.down_type") == .string("Q5_1"))
    #expect(file.value(forKey: "emoe.expert_order") == .string("clusters"))

    // Bytes: the same export with F32 down, requantised by gguf-py, gives the same file.
    let reference = directory.file("f32-down.gguf")
    try GGUFExport(container: container, expertsUsed: 15, precision: .f32Down).write(to: reference)
    let compared = try Self.report(Self.compareScript, [output, reference])
    #expect(compared["checked"]?.intValue == 90)
    #expect(compared["mismatches"] == .array([]), "\(compared)")
  }

  @Test(
    "int8 down becomes Q8_0 (gate/up keep Q4_1); a layer left dense matches gguf-py's Q8_0",
    .enabled(if: Oracles.python(["numpy", "gguf"])), .enabled(if: Oracles.smolLM2))
  func int8Down() throws {
    let model = try #require(try TestPaths.smolLM2())
    try PythonOracle.require(["numpy", "gguf"])
    let directory = try TemporaryDirectory()
    let (path, _) = try ConvertTestSupport.convert(
      model, ConversionOptions(experts: 16, layers: "29", quantize: .int8, restarts: 1),
      into: directory)
    let container = try ContainerFile(path: path)
    let output = directory.file("moe.gguf")
    try GGUFExport(container: container).write(to: output)
    let file = try GGUFFile(path: output)
    // A GGUF source's gate/up rows are never requantised by convert, so they stay Q4_1.
    #expect(file.tensorDescription(named: "blk.29.ffn_gate_exps.weight")?.dtype == .q4_1)
    #expect(file.tensorDescription(named: "blk.29.ffn_up_exps.weight")?.dtype == .q4_1)
    #expect(file.tensorDescription(named: "blk.29.ffn_down_exps.weight")?.dtype == .q8_0)
    // Layers before the first converted one stay dense (ernie4_5-moe): their down as stored.
    #expect(file.tensorDescription(named: "blk.3.ffn_down.weight")?.dtype == .q4_1)
    #expect(file.value(forKey: "emoe.down_type") == .string("Q8_0"))
    // --down-type q4_0 on the same container.
    let q4 = directory.file("q4_0.gguf")
    try GGUFExport(container: container, downType: .q4_0).write(to: q4)
    let q4File = try GGUFFile(path: q4)
    #expect(q4File.tensorDescription(named: "blk.29.ffn_down_exps.weight")?.dtype == .q4_0)
    #expect(q4File.value(forKey: "emoe.down_type") == .string("Q4_0"))
  }
}
