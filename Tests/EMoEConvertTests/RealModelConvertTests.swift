import EMoEConvert
import EMoECore
import EMoEFormats
import EMoETestSupport
import Foundation
import Testing

/// Conversions of the two real models, checked by the numpy oracle against the source files:
/// MiniLM with the paper's defaults (the last two layers, E = 16, top-4) and SmolLM2's last two
/// layers with E = 64, whose Q4_1 gate/up rows must move losslessly and whose Q4_1 down matrix
/// is dequantised to F32 exactly as gguf-py decodes it.
@Suite("convert: real models against the numpy oracle", .serialized)
struct RealModelConvertTests {
  @Test(
    "MiniLM (F32 safetensors) with the paper's defaults",
    .enabled(if: Oracles.python(["numpy", "safetensors"])), .enabled(if: Oracles.miniLM))
  func miniLM() throws {
    let model = try #require(try TestPaths.miniLM())
    try PythonOracle.require(["numpy", "safetensors"])
    let directory = try TemporaryDirectory()
    let (path, summary) = try ConvertTestSupport.convert(
      model, ConversionOptions(), into: directory)
    #expect(summary.layers.map(\.layer) == [4, 5])
    #expect(summary.layers.allSatisfy { $0.experts == 16 && $0.topK == 4 && $0.keys == "w1" })
    #expect(summary.layers.allSatisfy { $0.expertSizes == Array(repeating: 96, count: 16) })
    #expect(summary.changedTensors.isEmpty)
    #expect(summary.peakResidentBytes > 0)
    let report = try ConvertTestSupport.runOracle("check_container.py", [model, path])
    #expect(report["ok"]?.boolValue == true, "\(report)")
    #expect(report["passthrough"]?.intValue == 104 - 8)
  }

  @Test(
    "SmolLM2 (Q4_1 GGUF), layers 28 and 29, E = 64",
    .enabled(if: Oracles.python(["numpy", "gguf"])), .enabled(if: Oracles.smolLM2))
  func smolLM2() throws {
    let model = try #require(try TestPaths.smolLM2())
    try PythonOracle.require(["numpy", "gguf"])
    let directory = try TemporaryDirectory()
    let (path, summary) = try ConvertTestSupport.convert(
      model, ConversionOptions(experts: 64, layers: "28,29", restarts: 3), into: directory)
    #expect(summary.layers.map(\.layer) == [28, 29])
    #expect(summary.layers.allSatisfy { $0.expertSizes == Array(repeating: 24, count: 64) })
    #expect(
      summary.changedTensors.map(\.source) == ["blk.28.ffn_down.weight", "blk.29.ffn_down.weight"])
    #expect(summary.changedTensors.allSatisfy { $0.values == .lossless })
    let container = try ContainerFile(path: path)
    for record in container.layers {
      #expect(container.entry(named: record.tensors[.wg] ?? "")?.dtype == .q4_1)
      #expect(container.entry(named: record.tensors[.wu] ?? "")?.dtype == .q4_1)
      #expect(container.entry(named: record.tensors[.wd] ?? "")?.dtype == .f32)
    }
    #expect(container.metadata == (try GGUFFile(path: model)).metadata)
    let report = try ConvertTestSupport.runOracle("check_container.py", [model, path])
    #expect(report["ok"]?.boolValue == true, "\(report)")
  }
}
