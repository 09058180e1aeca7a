import EMoEConvert
import EMoECore
import EMoEFormats
import EMoETestSupport
import Foundation
import Testing

/// `--router` and per-layer top-k end to end through `convert`, `verify`, `run`, `inspect` and
/// `evaluate`.
@Suite("routers and per-layer top-k on the command line")
struct RouterCommandTests {
  static func fixture(_ name: String) -> String {
    TestPaths.fixtures + "/models/" + name + "/model.safetensors"
  }

  /// Runs `run --model` on fixed token ids and returns the final hidden states.
  static func runModel(_ container: String, _ extra: [String], in directory: TemporaryDirectory)
    throws -> [Float]
  {
    let ids = directory.file("ids.safetensors")
    try KernelDeterminismTests.tokenIDs([1, 5, 9, 14, 3, 7, 22, 11, 30, 2], to: ids)
    let output = directory.file("out-\(extra.joined(separator: "-")).safetensors")
    let run = try CommandRunner.run(
      ["run", container, "--model", "--inputs", ids, "--out", output, "--quiet"] + extra)
    try #require(run.status == 0, "\(run.stderr)")
    let file = try SafeTensorsFile(path: output)
    let entry = try #require(file.entries.first { $0.name == "hidden_states" })
    return file.tensor(for: entry).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
  }

  @Test("convert --router up and up-abs: verify --model passes (exit 0), run and inspect work")
  func upRouters() throws {
    let directory = try TemporaryDirectory()
    for kind in ["up", "up-abs"] {
      let path = directory.file("llama-\(kind).emoe")
      let converted = try CommandRunner.run([
        "convert", Self.fixture("llama-tiny"), path, "--experts", "8", "--top-k", "2",
        "--restarts", "1", "--router", kind, "--quiet",
      ])
      try #require(converted.status == 0, "\(converted.stderr)")
      let verified = try CommandRunner.run([
        "verify", "--json", path, "--source", Self.fixture("llama-tiny"), "--model", "--top-k",
        "2,8",
      ])
      let report = try JSONValue.parse(verified.stdout)
      #expect(verified.status == 0, "\(kind): \(report.prettySerialized())")
      let checks = report["checks"]?.arrayValue ?? []
      let routerChecks = checks.filter { $0["name"]?.stringValue?.hasSuffix(" router") == true }
      #expect(!routerChecks.isEmpty)
      #expect(routerChecks.allSatisfy { $0["status"]?.stringValue == "passed" })
      if kind == "up" {
        #expect(routerChecks.allSatisfy { ($0["detail"]?.stringValue ?? "").contains("up rows") })
      }
      #expect(checks.contains { $0["name"]?.stringValue == "model k=2" })
      let hidden = try Self.runModel(path, [], in: directory)
      #expect(!hidden.isEmpty && hidden.allSatisfy(\.isFinite))
      let inspected = try CommandRunner.run(["inspect", path])
      #expect(inspected.stdout.contains(kind == "up" ? " up " : " up_abs "), "\(inspected.stdout)")
    }
  }

  @Test("--router up on a plain FFN exits 2 naming the layer; evaluate --router up too")
  func plainRefused() throws {
    let directory = try TemporaryDirectory()
    let refused = try CommandRunner.run([
      "convert", Self.fixture("bert-tiny"), directory.file("x.emoe"), "--router", "up", "--quiet",
    ])
    #expect(refused.status == 2, "\(refused.stderr)")
    #expect(refused.stderr.contains("plain FFN") && refused.stderr.contains("layer "))
    #expect(!FileSystem.exists(directory.file("x.emoe")))
    let unknown = try CommandRunner.run([
      "convert", Self.fixture("llama-tiny"), directory.file("y.emoe"), "--router", "inter",
    ])
    #expect(unknown.status == 64, "\(unknown.stderr)")

    let path = directory.file("bert.emoe")
    let converted = try CommandRunner.run([
      "convert", Self.fixture("bert-tiny"), path, "--experts", "4", "--restarts", "1", "--quiet",
    ])
    try #require(converted.status == 0, "\(converted.stderr)")
    let evaluated = try CommandRunner.run([
      "evaluate", path, "--text", "/usr/share/common-licenses/GPL-3", "--router", "up-abs",
      "--quiet",
    ])
    #expect(evaluated.status == 2, "\(evaluated.stderr)")
    #expect(evaluated.stderr.contains("up-abs") && evaluated.stderr.contains("plain"))
    let badList = try CommandRunner.run([
      "evaluate", path, "--text", "/usr/share/common-licenses/GPL-3", "--router", "sideways",
    ])
    #expect(badList.status == 64)
  }

  @Test("per-layer top-k: run uses each layer's own, verify --model runs that configuration")
  func perLayerTopK() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("bert.emoe")
    let plan = try ConversionPlan(
      input: TestPaths.fixtures + "/models/bert-tiny",
      options: ConversionOptions(experts: 4, topK: 2, layers: "all", restarts: 1),
      topKByLayer: [0: 1])
    _ = try Converter(plan: plan, tool: ContainerTool(name: "emoe-pack", version: "0.1.0")).run(
      output: path)
    let recorded = try Self.runModel(path, [], in: directory)
    let k1 = try Self.runModel(path, ["--top-k", "1"], in: directory)
    let k2 = try Self.runModel(path, ["--top-k", "2"], in: directory)
    #expect(recorded != k1 && recorded != k2, "run ignored the per-layer top-k")

    let verified = try CommandRunner.run([
      "verify", "--json", path, "--source", Self.fixture("bert-tiny"), "--model",
    ])
    let report = try JSONValue.parse(verified.stdout)
    #expect(verified.status == 0, "\(report.prettySerialized())")
    let checks = report["checks"]?.arrayValue ?? []
    let perLayer = try #require(
      checks.first { $0["name"]?.stringValue == "model k=recorded per layer" })
    #expect(
      perLayer["measures"]?["k"]
        == .object([JSONMember("0", .integer(1)), JSONMember("1", .integer(2))]))
    for name in ["model k=1", "model k=2", "model k=E"] {
      #expect(checks.contains { $0["name"]?.stringValue == name }, "no \(name)")
    }
    // A layer's own sparse check runs at its own top-k.
    #expect(checks.contains { $0["name"]?.stringValue == "layer 0 k=1" })
    #expect(checks.contains { $0["name"]?.stringValue == "layer 1 k=2" })
  }

  @Test(
    "evaluate on SmolLM2 with three routers: one result per router, inter-abs an oracle",
    .enabled(if: Oracles.smolLM2))
  func smolLM2Routers() throws {
    let smol = try #require(try TestPaths.smolLM2())
    let directory = try TemporaryDirectory()
    let container = directory.file("smol.emoe")
    let converted = try CommandRunner.run([
      "convert", smol, container, "--layers", "last:2", "--experts", "16", "--restarts", "1",
      "--quiet",
    ])
    try #require(converted.status == 0, "\(converted.stderr)")
    let output = try CommandRunner.run([
      "evaluate", container, "--text", "/usr/share/common-licenses/GPL-3", "--max-tokens", "96",
      "--window", "96", "--top-k", "4", "--router", "average-key,up-abs,inter-abs", "--json",
      "--quiet",
    ])
    try #require(output.status == 0, "\(output.stderr)")
    let report = try JSONValue.parse(output.stdout)
    let results = try #require(report["results"]?.arrayValue)
    #expect(
      results.map { $0["router"]?.stringValue ?? "" } == ["average-key", "up-abs", "inter-abs"])
    #expect(results.map { $0["oracle"] } == [nil, nil, .bool(true)])
    let dense = try #require(report["dense"]?["perplexity"]?.doubleValue)
    for result in results {
      let value = try #require(result["perplexity"]?.doubleValue)
      #expect(value.isFinite && value > dense * 0.9, "\(result.serialized())")
    }
    // Active share of the converted layers: d 576, n 1536, 4 of 16 experts of 96 neurons.
    let shares = results.map { $0["active_fraction"]?["converted_layers"]?.doubleValue ?? 0 }
    let d = 576.0
    let n = 1536.0
    let selected = 384.0
    #expect(abs(shares[0] - (3 * d * selected + 16 * d) / (3 * d * n)) < 1e-12)
    #expect(abs(shares[1] - (d * n + 2 * d * selected) / (3 * d * n)) < 1e-12)
    #expect(abs(shares[2] - shares[0]) < 1e-12)
  }
}
