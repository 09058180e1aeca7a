import EMoECore
import EMoEFormats
import EMoETestSupport
import Foundation
import Testing

@testable import EMoEConvert

/// `--router` and per-layer top-k through planning, conversion and export.
@Suite("routers and per-layer top-k in conversion and export")
struct RouterConversionTests {
  static func convert(
    _ fixture: String, _ options: ConversionOptions, topKByLayer: [Int: Int] = [:],
    into directory: TemporaryDirectory
  ) throws -> String {
    let path = directory.file("model.emoe")
    let plan = try ConversionPlan(
      input: fixture, options: options, topKByLayer: topKByLayer)
    _ = try Converter(plan: plan, tool: ConvertTestSupport.tool).run(output: path)
    return path
  }

  @Test("up and up-abs need a GLU FFN: a plain FFN is refused, naming the layer")
  func plainRefused() throws {
    for kind in [RouterKind.up, .upAbs] {
      do {
        _ = try ConversionPlan(
          input: ConvertTestSupport.fixture("bert-tiny"),
          options: ConversionOptions(experts: 4, router: kind))
        Issue.record("\(kind) accepted on a plain FFN")
      } catch {
        let text = "\(error)"
        #expect(text.contains("--router \(kind.argumentName)"), "\(text)")
        #expect(text.contains("plain FFN") && text.contains("layer "), "\(text)")
        #expect(!error.isIOFailure)
      }
    }
    // --router-bias has no meaning for up-abs.
    #expect(throws: ConversionError.self) {
      try ConversionOptions(routerBias: true, router: .upAbs).validate()
    }
  }

  @Test("the recorded options hold router only when it is not the default, and read back")
  func optionsJSON() throws {
    #expect(ConversionOptions().json["router"] == nil)
    let up = ConversionOptions(router: .upAbs).json
    #expect(up["router"] == .string("up-abs"))
    #expect(try ConversionOptions(json: up).router == .upAbs)
    #expect(throws: ConversionError.self) {
      try ConversionOptions(json: .object([JSONMember("router", .string("inter"))]))
    }
  }

  @Test("up stores the mean of Wu rows; up-abs stores no router tensor")
  func storedTensors() throws {
    let directory = try TemporaryDirectory()
    let llama = ConvertTestSupport.fixture("llama-tiny")
    for kind in RouterKind.allCases {
      let path = try Self.convert(
        llama, ConversionOptions(experts: 8, layers: "3", restarts: 1, router: kind),
        into: directory)
      let container = try ContainerFile(path: path)
      let record = try #require(container.layers.first)
      #expect(record.router == kind)
      #expect((record.tensors[.router] != nil) == (kind != .upAbs), "\(kind)")
      #expect(
        container.manifestJSON["options"]?["router"]
          == (kind == .averageKey ? nil : .string(kind.argumentName)))
    }
  }

  @Test("per-layer top-k: records, the safetensors config's object and the router kind")
  func perLayerTopK() throws {
    let directory = try TemporaryDirectory()
    let path = try Self.convert(
      ConvertTestSupport.fixture("bert-tiny"),
      ConversionOptions(experts: 4, topK: 2, layers: "all", restarts: 1), topKByLayer: [0: 1],
      into: directory)
    let container = try ContainerFile(path: path)
    #expect(container.layers.sorted { $0.layer < $1.layer }.map(\.topK) == [1, 2])
    let folder = directory.file("export")
    _ = try SafeTensorsExport(container: container).write(to: folder)
    let config = try JSONValue.parse(
      String(decoding: try ConvertTestSupport.bytes(folder + "/config.json"), as: UTF8.self))
    #expect(
      config["emoe"]?["top_k"]
        == .object([JSONMember("0", .integer(1)), JSONMember("1", .integer(2))]))
    #expect(config["emoe"]?["router"] == .string("average_key"))

    // One top-k for every layer stays an integer.
    let other = try TemporaryDirectory()
    let uniform = try Self.convert(
      ConvertTestSupport.fixture("llama-tiny"),
      ConversionOptions(experts: 4, topK: 2, layers: "2,3", restarts: 1, router: .up),
      into: other)
    let config2 = ExportConfig.emoeObject(try ContainerFile(path: uniform), layout: "dense")
    #expect(config2["top_k"] == .integer(2))
    #expect(config2["router"] == .string("up"))

    // A top-k for a layer that is not converted, or above E, is refused.
    for bad in [[5: 1], [0: 5]] {
      #expect(throws: ConversionError.self) {
        try ConversionPlan(
          input: ConvertTestSupport.fixture("bert-tiny"),
          options: ConversionOptions(experts: 4, layers: "all"), topKByLayer: bad)
      }
    }
  }

  @Test(
    "GGUF export refuses different top-k per layer and the up_abs router, naming the layers",
    .enabled(if: Oracles.smolLM2))
  func ggufRefusals() throws {
    let model = try #require(try TestPaths.smolLM2())
    let directory = try TemporaryDirectory()
    let cases: [(ConversionOptions, [Int: Int], [String])] = [
      (
        ConversionOptions(experts: 16, topK: 4, layers: "28,29", restarts: 1), [28: 8],
        ["different top-k", "top-k 8 in layers [28]", "top-k 4 in layers [29]"]
      ),
      (
        ConversionOptions(experts: 16, topK: 4, layers: "29", restarts: 1, router: .upAbs), [:],
        ["layers [29]", "up_abs"]
      ),
    ]
    for (options, topK, phrases) in cases {
      let path = try Self.convert(model, options, topKByLayer: topK, into: directory)
      let output = directory.file("out.gguf")
      do {
        _ = try GGUFExport(container: try ContainerFile(path: path)).write(to: output)
        Issue.record("exported \(options)")
      } catch {
        for phrase in phrases { #expect("\(error)".contains(phrase), "\(error)") }
        #expect((error as? ConversionError)?.isIOFailure == false)
      }
      #expect(!FileSystem.exists(output))
    }
  }
}
