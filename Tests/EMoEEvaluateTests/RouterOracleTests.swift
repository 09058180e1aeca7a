import EMoEConvert
import EMoECore
import EMoEFormats
import EMoERunner
import EMoETestSupport
import Foundation
import Testing

@testable import EMoEEvaluate

/// Every router against an independent numpy float64 implementation (Tests/Oracles/
/// router_oracle.py) that reads the ORIGINAL fixture checkpoint, takes only the container's
/// permutation and expert sizes, and computes the scores, the top-k mask and the masked FFN.
@Suite(
  "routers against numpy on the fixture models",
  .enabled(if: Oracles.python(["numpy", "safetensors"])))
struct RouterOracleTests {
  /// One conversion and the router measured on it.
  struct Case: Sendable, CustomStringConvertible {
    var fixture: String
    var options: ConversionOptions
    /// The router evaluated (the stored one unless an oracle or another kind is asked for).
    var router: EvaluationRouter
    var layer: Int
    var description: String { "\(fixture) \(router.rawValue)" }
  }

  static let cases: [Case] = [
    Case(
      fixture: "bert-tiny",
      options: ConversionOptions(experts: 8, topK: 2, layers: "1", routerBias: true),
      router: .averageKey, layer: 1),
    Case(
      fixture: "llama-tiny", options: ConversionOptions(experts: 8, topK: 3, layers: "3"),
      router: .averageKey, layer: 3),
    Case(
      fixture: "llama-tiny",
      options: ConversionOptions(experts: 8, topK: 3, layers: "3", router: .up),
      router: .up, layer: 3),
    Case(
      fixture: "llama-tiny",
      options: ConversionOptions(experts: 8, topK: 3, layers: "3", router: .upAbs),
      router: .upAbs, layer: 3),
    // evaluate's oracles and up/up-abs computed from an average-key container's stored rows.
    Case(
      fixture: "llama-tiny", options: ConversionOptions(experts: 8, topK: 3, layers: "3"),
      router: .inter, layer: 3),
    Case(
      fixture: "llama-tiny", options: ConversionOptions(experts: 8, topK: 3, layers: "3"),
      router: .interAbs, layer: 3),
    Case(
      fixture: "llama-tiny", options: ConversionOptions(experts: 8, topK: 3, layers: "3"),
      router: .upAbs, layer: 3),
    Case(
      fixture: "llama-tiny", options: ConversionOptions(experts: 8, topK: 3, layers: "3"),
      router: .up, layer: 3),
    Case(
      fixture: "bert-tiny", options: ConversionOptions(experts: 8, topK: 2, layers: "1"),
      router: .interAbs, layer: 1),
  ]

  /// Fixed inputs `[tokens, d]`, of the scale of hidden states.
  static func inputs(tokens: Int, d: Int) -> [Float] {
    (0..<(tokens * d)).map { index in
      Float(sin(Double(index) * 0.731 + 0.3) * 1.5 + cos(Double(index / d) * 1.7))
    }
  }

  @Test("sparse output and selection equal numpy's at k < E", arguments: cases)
  func router(_ test: Case) throws {
    let directory = try TemporaryDirectory()
    let model = TestPaths.fixtures + "/models/" + test.fixture
    let path = directory.file("model.emoe")
    let plan = try ConversionPlan(input: model, options: test.options)
    _ = try Converter(plan: plan, tool: ContainerTool(name: "emoe-pack", version: "0.1.0")).run(
      output: path)
    let container = try ContainerFile(path: path)
    let record = try #require(container.layers.first { $0.layer == test.layer })
    #expect(record.router == test.options.router)
    let stored = try ExpertFFNWeights(container: container, layer: record)
    let weights = try test.router.weights(stored, record: record)
    let k = record.topK
    try #require(k < record.expertCount)
    let tokens = 12
    let d = record.hiddenSize
    let x = Self.inputs(tokens: tokens, d: d)
    var output = [Float](repeating: 0, count: tokens * d)
    var masked = [Float](repeating: 0, count: tokens * d)
    let sparse = try ExpertFFN(weights: weights, topK: k, path: .sparse)
    let maskedRunner = try ExpertFFN(weights: weights, topK: k, path: .masked)
    x.withUnsafeBufferPointer { input in
      output.withUnsafeMutableBufferPointer { y in
        sparse.forward(input.baseAddress!, tokens: tokens, into: y.baseAddress!)
      }
      masked.withUnsafeMutableBufferPointer { y in
        maskedRunner.forward(input.baseAddress!, tokens: tokens, into: y.baseAddress!)
      }
    }
    let routing = x.withUnsafeBufferPointer { sparse.route($0.baseAddress!, tokens: tokens) }
    let selected = (0..<tokens).map { Array(routing.experts(ofToken: $0)).sorted() }
    // Masked and sparse agree (the up-abs paths reuse the routing's projection).
    let scale = output.map(abs).max() ?? 1
    let gap = zip(output, masked).map { abs($0 - $1) }.max() ?? 0
    #expect(gap <= 1e-5 * scale, "sparse against masked: \(gap) of \(scale)")

    let permutation = try #require(try container.tensor(.permutation, of: record))
    let sigma: [Int] = permutation.withUnsafeBytes { raw in
      permutation.dtype == .i32
        ? raw.bindMemory(to: Int32.self).map { Int($0) }
        : raw.bindMemory(to: Int64.self).map { Int($0) }
    }
    let prefix =
      record.family == .glu ? "model.layers.\(test.layer)." : "encoder.layer.\(test.layer)."
    let rows = { (values: [Float], width: Int) -> JSONValue in
      .array(
        (0..<(values.count / width)).map { row in
          .array(values[(row * width)..<((row + 1) * width)].map { .number(Double($0)) })
        })
    }
    let caseJSON = JSONValue.object([
      JSONMember("model", .string(model + "/model.safetensors")),
      JSONMember("family", .string(record.family.rawValue)),
      JSONMember("prefix", .string(prefix)),
      JSONMember("permutation", .array(sigma.map { .integer(Int64($0)) })),
      JSONMember("expert_sizes", .array(record.expertSizes.map { .integer(Int64($0)) })),
      JSONMember("router", .string(test.router.rawValue)),
      JSONMember("keys", .string(record.clustering.keys.rawValue)),
      JSONMember("router_bias", .bool(record.tensors[.routerBias] != nil)),
      JSONMember("top_k", .integer(Int64(k))),
      JSONMember("inputs", rows(x, d)),
      JSONMember("output", rows(output, d)),
      JSONMember(
        "selected", .array(selected.map { .array($0.map { .integer(Int64($0)) }) })),
    ])
    let casePath = directory.file("case.json")
    try Data(caseJSON.serialized().utf8).write(to: URL(fileURLWithPath: casePath))
    let script = TestPaths.repositoryRoot + "/Tests/Oracles/router_oracle.py"
    let text = try PythonOracle.check(
      "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')",
      arguments: [script, casePath])
    let report = try JSONValue.parse(
      String(text.split(separator: "\n").last ?? ""))
    #expect(report["selections_equal"] == .bool(true), "\(test): \(report.serialized())")
    #expect(report["ok"] == .bool(true), "\(test): \(report.serialized())")
    // The inputs must exercise the router: several different selections.
    #expect((report["distinct_selections"]?.intValue ?? 0) >= 3, "\(report.serialized())")
  }
}

/// `evaluate --router` on the llama fixture: one result per router, the oracle mark, the
/// active fraction of each, and one chart series per router in the report.
@Suite("evaluate with several routers")
struct EvaluateRoutersTests {
  @Test("one result per router and k; oracles marked; up-abs counts the full up projection")
  func routers() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("llama.emoe")
    let plan = try ConversionPlan(
      input: TestPaths.fixtures + "/models/llama-tiny",
      options: ConversionOptions(experts: 8, topK: 2, layers: "2,3", restarts: 1))
    _ = try Converter(plan: plan, tool: ContainerTool(name: "emoe-pack", version: "0.1.0")).run(
      output: path)
    let ids: [Int64] = (0..<40).map { Int64(($0 * 37 + 5) % 96) }
    let tokens = directory.file("ids.safetensors")
    try SafeTensorsWriter.write(
      to: tokens,
      tensors: [
        Tensor(
          name: "input_ids", dtype: .i64, shape: [1, ids.count],
          storage: .owned(ids.withUnsafeBytes { Array($0) }))
      ])
    let report = try QualityEvaluator.evaluate(
      QualityRequest(
        model: path, tokens: tokens, topK: [2, 8], routers: [.averageKey, .upAbs, .interAbs]))
    #expect(
      report.points.map(\.router) == [
        .averageKey, .averageKey, .upAbs, .upAbs, .interAbs, .interAbs,
      ])
    let results = try #require(report.json()["results"]?.arrayValue)
    #expect(results.map { $0["router"]?.stringValue ?? "" } == report.points.map(\.router.rawValue))
    #expect(results.map { $0["oracle"] } == [nil, nil, nil, nil, .bool(true), .bool(true)])
    // At k = E every router computes the dense FFN.
    for index in [1, 3, 5] {
      #expect(abs(report.points[index].value / report.dense - 1) < 1e-4, "\(index)")
    }
    // d 64, n 256, 2 of 8 experts of 32 neurons.
    let d = 64.0
    let n = 256.0
    let selected = 64.0
    #expect(
      abs(report.points[0].active.convertedLayers - (3 * d * selected + 8 * d) / (3 * d * n))
        < 1e-12)
    #expect(
      abs(report.points[2].active.convertedLayers - (d * n + 2 * d * selected) / (3 * d * n))
        < 1e-12)
    #expect(report.points[4].active.convertedLayers == report.points[0].active.convertedLayers)
    let html = report.html()
    #expect(html.components(separatedBy: "<polyline").count - 1 == 3)
    for name in ["router average-key", "router up-abs", "router inter-abs (oracle)"] {
      #expect(html.contains(name), "\(name)")
    }
  }
}
