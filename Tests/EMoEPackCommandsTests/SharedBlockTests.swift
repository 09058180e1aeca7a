import EMoEConvert
import EMoECore
import EMoEEvaluate
import EMoEFormats
import EMoENumerics
import EMoERunner
import EMoETestSupport
import Foundation
import Testing

/// The always-active shared neuron block (issue 11): fixtures converted through the library with
/// hand-made seeded groupings, checked against numpy computing the EMoE FFN in float64 from the
/// ORIGINAL safetensors (`check_shared.py`) and against `check_container.py`; then verify, run,
/// inspect and export on those containers through the command line.
@Suite("shared neuron block: convert, run, verify, export")
struct SharedBlockTests {
  /// One grouped layer of a test conversion.
  struct GroupedLayer {
    var layer: Int
    var experts: Int
    var shared: Int
    var topK: Int?
    var keys: ContainerLayerRecord.KeySource
  }

  /// A fixture conversion with grouped layers (the others are clustered as usual).
  struct Case: CustomStringConvertible {
    var fixture: String
    var options: ConversionOptions
    var grouped: [GroupedLayer]
    var description: String { fixture }
  }

  static let cases = [
    Case(
      fixture: "llama-tiny",
      options: ConversionOptions(experts: 4, topK: 2, layers: "all", restarts: 1),
      grouped: [
        GroupedLayer(layer: 1, experts: 8, shared: 16, topK: 3, keys: .activations),
        GroupedLayer(layer: 3, experts: 5, shared: 6, topK: nil, keys: .gate),
      ]),
    Case(
      fixture: "bert-tiny",
      options: ConversionOptions(experts: 4, topK: 2, layers: "all", restarts: 1),
      grouped: [GroupedLayer(layer: 0, experts: 4, shared: 8, topK: 2, keys: .activations)]),
  ]

  static let tool = ContainerTool(name: "emoe-pack", version: "0.1.0")

  static func source(_ fixture: String) -> String {
    TestPaths.fixtures + "/models/" + fixture + "/model.safetensors"
  }

  /// A seeded grouping of `n` neurons: `shared` of them, at scattered original indices, are
  /// shared; the rest are dealt to the experts in a shuffled order, so every expert holds
  /// uneven original indices.
  static func grouping(_ layer: GroupedLayer, neurons n: Int, seed: UInt64) -> NeuronGrouping {
    var state = seed &+ 0x9E37_79B9_7F4A_7C15
    func next() -> UInt64 {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return state >> 11
    }
    var order = Array(0..<n)
    for index in stride(from: n - 1, to: 0, by: -1) {
      order.swapAt(index, Int(next() % UInt64(index + 1)))
    }
    var assignment = [Int](repeating: 0, count: n)
    for (rank, neuron) in order.enumerated() {
      assignment[neuron] =
        rank < layer.shared ? NeuronGrouping.sharedExpert : (rank - layer.shared) % layer.experts
    }
    return NeuronGrouping(
      assignment: assignment, experts: layer.experts, topK: layer.topK,
      clustering: .init(
        method: "test_grouping", keys: layer.keys, seed: Int(seed), restarts: 1, iterations: 0,
        sse: 0))
  }

  /// The groupings of a case, by layer, for a model whose layers have `n` neurons.
  static func groupings(_ testCase: Case, neurons n: Int) -> [Int: NeuronGrouping] {
    var result: [Int: NeuronGrouping] = [:]
    for layer in testCase.grouped {
      result[layer.layer] = grouping(layer, neurons: n, seed: UInt64(layer.layer) + 7)
    }
    return result
  }

  /// The FFN width of a fixture's layers.
  static func neurons(_ fixture: String) -> Int { fixture == "llama-tiny" ? 256 : 128 }

  /// Converts a case into `directory` through the library.
  static func convert(
    _ testCase: Case, into directory: TemporaryDirectory, name: String = "shared.emoe",
    threads: Int? = nil
  ) throws -> String {
    var options = testCase.options
    options.threads = threads
    let plan = try ConversionPlan(
      input: source(testCase.fixture), options: options,
      groupings: groupings(testCase, neurons: neurons(testCase.fixture)))
    let path = directory.file(name)
    let summary = try Converter(plan: plan, tool: tool).run(output: path)
    for layer in testCase.grouped {
      let done = try #require(summary.layers.first { $0.layer == layer.layer })
      #expect(done.shared == layer.shared)
      #expect(done.keys == layer.keys.rawValue)
    }
    #expect(summary.layers.filter { $0.shared > 0 }.count == testCase.grouped.count)
    return path
  }

  /// Deterministic inputs `[tokens, d]` in about [-2, 2].
  static func inputs(tokens: Int, dimension d: Int, seed: Int) -> [Float] {
    (0..<(tokens * d)).map { index in
      let value = sin(Double(index * 7919 + seed * 104_729) * 0.001) * 2
      return Float(value)
    }
  }

  /// Runs `check_shared.py` on one grouped layer.
  static func oracle(
    _ testCase: Case, container: String, layer: GroupedLayer, grouping: NeuronGrouping, topK: Int,
    inputs: [Float]
  ) throws -> JSONValue {
    let groupingJSON = JSONValue.object([
      JSONMember("assignment", .array(grouping.assignment.map { .integer(Int64($0)) })),
      JSONMember("experts", .integer(Int64(grouping.experts))),
      JSONMember("keys", .string(grouping.clustering.keys.rawValue)),
    ])
    let report = try runOracle(
      "check_shared.py",
      [
        source(testCase.fixture), container, String(layer.layer), groupingJSON.serialized(),
        String(topK), JSONValue.array(inputs.map { .number(Double($0)) }).serialized(),
      ])
    try #require(report["ok"]?.boolValue == true, "\(report)")
    return report
  }

  /// Runs an oracle script of `Tests/Oracles` and returns its JSON report.
  static func runOracle(_ script: String, _ arguments: [String]) throws -> JSONValue {
    let output = try PythonOracle.run(
      "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')",
      arguments: [TestPaths.repositoryRoot + "/Tests/Oracles/" + script] + arguments)
    let last = output.stdout.split(separator: "\n").last.map(String.init) ?? ""
    guard let report = try? JSONValue.parse(last) else {
      throw OracleReportMissing(description: "\(script) exited \(output.status): \(output.stderr)")
    }
    return report
  }

  /// The numbers of the report's member `key`.
  static func numbers(_ report: JSONValue, _ key: String) throws -> [Double] {
    let values = report[key]?.arrayValue ?? []
    let numbers = values.compactMap(\.doubleValue)
    try #require(!numbers.isEmpty && numbers.count == values.count, "\(key) in \(report)")
    return numbers
  }

  /// `max |a - b| / max |b|`, with the largest magnitude of `b` at least 1e-6.
  static func relativeError(_ a: [Float], _ b: [Double]) -> Double {
    precondition(a.count == b.count)
    let scale = max(b.map(abs).max() ?? 0, 1e-6)
    return zip(a, b).map { abs(Double($0) - $1) }.max().map { $0 / scale } ?? 0
  }

  /// The sparse and masked outputs and the routing at `topK`.
  static func outputs(_ weights: ExpertFFNWeights, topK: Int, inputs: [Float], tokens: Int)
    throws -> (sparse: [Float], masked: [Float], dense: [Float], selection: [[Int]])
  {
    let d = weights.hiddenSize
    let runner = try ExpertFFN(weights: weights, topK: topK)
    var sparse = [Float](repeating: .nan, count: tokens * d)
    var masked = [Float](repeating: .nan, count: tokens * d)
    var dense = [Float](repeating: .nan, count: tokens * d)
    var selection: [[Int]] = []
    try inputs.withUnsafeBufferPointer { x in
      let routing = runner.route(x.baseAddress!, tokens: tokens)
      selection = (0..<tokens).map { Array(routing.experts(ofToken: $0)).sorted() }
      try sparse.withUnsafeMutableBufferPointer { y in
        try runner.forward(
          x.baseAddress!, tokens: tokens, routing: routing, path: .sparse, into: y.baseAddress!)
      }
      try masked.withUnsafeMutableBufferPointer { y in
        try runner.forward(
          x.baseAddress!, tokens: tokens, routing: routing, path: .masked, into: y.baseAddress!)
      }
      dense.withUnsafeMutableBufferPointer { y in
        runner.forwardDense(x.baseAddress!, tokens: tokens, into: y.baseAddress!)
      }
    }
    return (sparse, masked, dense, selection)
  }

  @Test(
    "ExpertFFN with a shared block equals numpy's float64 EMoE FFN from the source, k < E and k = E",
    .enabled(if: Oracles.python(["numpy", "safetensors"])), arguments: cases)
  func oracleEquality(testCase: Case) throws {
    try PythonOracle.require(["numpy", "safetensors"])
    let directory = try TemporaryDirectory()
    let path = try Self.convert(testCase, into: directory)
    let container = try ContainerFile(path: path)
    let groupings = Self.groupings(testCase, neurons: Self.neurons(testCase.fixture))

    // The layout: byte-exact rows, shared block ascending, router means (numpy).
    let layout = try Self.runOracle("check_container.py", [Self.source(testCase.fixture), path])
    #expect(layout["ok"]?.boolValue == true, "\(layout)")
    // The manifest (with `shared` and `activations` keys) satisfies the published schema, and a
    // negative shared block does not.
    if try PythonOracle.available(["jsonschema"]) {
      let script = """
        import json, sys, jsonschema
        sys.path.insert(0, sys.argv[3])
        from emoe_reader import Container
        validator = jsonschema.Draft202012Validator(json.load(open(sys.argv[1])))
        manifest = Container(sys.argv[2]).manifest
        print("valid" if validator.is_valid(manifest) else "invalid")
        manifest["layers"][0]["shared"] = -1
        print("valid" if validator.is_valid(manifest) else "invalid")
        """
      let verdicts = try PythonOracle.check(
        script,
        arguments: [
          TestPaths.repositoryRoot + "/Formats/emoe-manifest.schema.json", path,
          TestPaths.repositoryRoot + "/Tests/Oracles",
        ])
      #expect(verdicts.split(separator: "\n") == ["valid", "invalid"], "\(verdicts)")
    }

    for layer in testCase.grouped {
      let grouping = try #require(groupings[layer.layer])
      let record = try #require(container.layers.first { $0.layer == layer.layer })
      #expect(record.sharedCount == layer.shared)
      #expect(record.expertCount == layer.experts)
      #expect(record.topK == layer.topK ?? testCase.options.topK)
      #expect(record.clustering == grouping.clustering)
      #expect(
        record.expertSizes
          == Array(
            repeating: (record.intermediateSize - layer.shared) / layer.experts,
            count: layer.experts))
      // The permutation: shared block (ascending), then each expert ascending.
      let stored = try #require(try container.tensor(.permutation, of: record))
      #expect(stored.dtype == .i32)
      let permutation = stored.withUnsafeBytes { raw in
        (0..<record.intermediateSize).map {
          Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)))
        }
      }
      let expectedShared = grouping.assignment.indices.filter {
        grouping.assignment[$0] == NeuronGrouping.sharedExpert
      }
      #expect(Array(permutation[0..<layer.shared]) == expectedShared)
      for expert in 0..<layer.experts {
        let members = grouping.assignment.indices.filter { grouping.assignment[$0] == expert }
        #expect(Array(permutation[record.expertRange(expert)]) == members, "expert \(expert)")
      }

      let weights = try ExpertFFNWeights(container: container, layer: record)
      #expect(weights.sharedCount == layer.shared)
      let tokens = 9
      let x = Self.inputs(tokens: tokens, dimension: record.hiddenSize, seed: layer.layer)
      for k in Set([record.topK, 1, layer.experts]).sorted() {
        let report = try Self.oracle(
          testCase, container: path, layer: layer, grouping: grouping, topK: k, inputs: x)
        let masked = try Self.numbers(report, "masked")
        let dense = try Self.numbers(report, "dense")
        let selection = try #require(
          report["selection"]?.arrayValue?.map { $0.arrayValue?.compactMap(\.intValue) ?? [] })
        let ours = try Self.outputs(weights, topK: k, inputs: x, tokens: tokens)
        #expect(ours.selection == selection, "layer \(layer.layer) k=\(k)")
        let sparseError = Self.relativeError(ours.sparse, masked)
        let maskedError = Self.relativeError(ours.masked, masked)
        #expect(sparseError < 1e-5, "layer \(layer.layer) k=\(k) sparse: \(sparseError)")
        #expect(maskedError < 1e-5, "layer \(layer.layer) k=\(k) masked: \(maskedError)")
        #expect(Self.relativeError(ours.dense, dense) < 1e-5, "layer \(layer.layer) dense")
        if k == layer.experts {
          // k = E: the converted FFN is the dense FFN, shared block included.
          #expect(Self.relativeError(ours.sparse, dense) < 1e-5, "layer \(layer.layer) k=E")
        } else {
          // A smaller k really drops neurons, so the comparison above could fail.
          #expect(Self.relativeError(ours.sparse, dense) > 1e-3, "layer \(layer.layer) k=\(k)")
        }
      }
      // The router is the mean of the routed experts' raw keys only.
      let report = try Self.oracle(
        testCase, container: path, layer: layer, grouping: grouping, topK: 1, inputs: x)
      let router = try Self.numbers(report, "router")
      #expect(Self.relativeError(weights.router.weights, router) < 1e-6)
    }
  }

  @Test("the sparse path with a shared block gives the same bits on 1 and 2 threads")
  func threadIndependentRuntime() throws {
    let directory = try TemporaryDirectory()
    let path = try Self.convert(Self.cases[0], into: directory)
    let container = try ContainerFile(path: path)
    let record = try #require(container.layers.first { $0.layer == 1 })
    let weights = try ExpertFFNWeights(container: container, layer: record)
    let x = Self.inputs(tokens: 33, dimension: record.hiddenSize, seed: 3)
    let previous = BLAS.threadCount
    defer { BLAS.threadCount = previous }
    BLAS.threadCount = 1
    let one = try Self.outputs(weights, topK: 3, inputs: x, tokens: 33)
    BLAS.threadCount = 2
    let two = try Self.outputs(weights, topK: 3, inputs: x, tokens: 33)
    #expect(one.sparse.map(\.bitPattern) == two.sparse.map(\.bitPattern))
    #expect(one.masked.map(\.bitPattern) == two.masked.map(\.bitPattern))
  }

  @Test("same grouping, same bytes: converted twice, on 1 and 2 threads")
  func sameBytes() throws {
    let directory = try TemporaryDirectory()
    for testCase in Self.cases {
      let a = try Self.convert(testCase, into: directory, name: "a.emoe", threads: 1)
      let b = try Self.convert(testCase, into: directory, name: "b.emoe", threads: 2)
      let first = try Data(contentsOf: URL(fileURLWithPath: a))
      #expect(first == (try Data(contentsOf: URL(fileURLWithPath: b))), "\(testCase)")
      // Another grouping of the same layers gives other bytes: the grouping is what decides.
      var other = testCase
      other.grouped[0].shared += other.grouped[0].experts
      let plan = try ConversionPlan(
        input: Self.source(other.fixture), options: other.options,
        groupings: Self.groupings(other, neurons: Self.neurons(other.fixture)))
      let c = directory.file("c.emoe")
      _ = try Converter(plan: plan, tool: Self.tool).run(output: c)
      #expect(first != (try Data(contentsOf: URL(fileURLWithPath: c))), "\(testCase)")
    }
  }

  @Test("groupings that do not describe the layer are refused, naming the layer and the fault")
  func badGroupings() throws {
    let source = Self.source("llama-tiny")
    let options = ConversionOptions(experts: 4, topK: 2, layers: "all", restarts: 1)
    let good = Self.grouping(
      GroupedLayer(layer: 1, experts: 8, shared: 16, topK: 3, keys: .gate), neurons: 256, seed: 1)
    #expect(throws: Never.self) {
      _ = try ConversionPlan(input: source, options: options, groupings: [1: good])
    }
    var short = good
    short.assignment.removeLast()
    var outside = good
    outside.assignment[5] = 8
    var empty = good
    empty.assignment = empty.assignment.map { $0 == 7 ? 6 : $0 }
    var uneven = good
    // One neuron moves from expert 0 to expert 1: sizes 29 and 31 around 30.
    uneven.assignment[try #require(uneven.assignment.firstIndex(of: 0))] = 1
    var unevenShared = good
    // One more shared neuron: 239 routed neurons do not split into 8 equal experts.
    unevenShared.assignment[try #require(unevenShared.assignment.firstIndex(of: 0))] = -1
    var topK = good
    topK.topK = 9
    var plainKeys = good
    plainKeys.clustering.keys = .w1
    let cases: [(String, [Int: NeuronGrouping], String)] = [
      ("length", [1: short], "labels 255 neurons; the layer has n = 256"),
      ("label", [1: outside], "the label 8, outside -1 (shared) and 0..<8"),
      ("empty expert", [1: empty], "leaves expert 7 of 8 without neurons"),
      ("sizes", [1: uneven], "split into 8 experts of 30 or 30"),
      ("unequal sizes", [1: unevenShared], "pass --allow-uneven"),
      ("top-k", [1: topK], "selects top-k 9, outside 1...8"),
      ("keys", [1: plainKeys], "'w1' keys, which a GLU FFN does not have"),
      ("layer", [9: good], "layer 9, which the layer selection [0, 1, 2, 3] does not convert"),
    ]
    for (name, groupings, phrase) in cases {
      let error = #expect(throws: ConversionError.self, "\(name)") {
        _ = try ConversionPlan(input: source, options: options, groupings: groupings)
      }
      let message = error.map { "\($0)" } ?? ""
      #expect(message.contains(phrase), "\(name): \(message)")
      if name != "layer" { #expect(message.contains("layer 1"), "\(name): \(message)") }
    }
    // Uneven sizes pass when allowed, as they would for clustering.
    var allowing = options
    allowing.allowUneven = true
    #expect(throws: Never.self) {
      _ = try ConversionPlan(input: source, options: allowing, groupings: [1: unevenShared])
    }
  }

  @Test("verify passes, run computes the shared block, inspect shows it (command line)")
  func commandLine() throws {
    let directory = try TemporaryDirectory()
    for testCase in Self.cases {
      let path = try Self.convert(testCase, into: directory, name: testCase.fixture + ".emoe")
      let verify = try CommandRunner.run(
        ["verify", path, "--source", Self.source(testCase.fixture), "--top-k", "1,2", "--json"])
      #expect(verify.status == 0, "\(testCase): \(verify.stdout)\(verify.stderr)")
      let report = try JSONValue.parse(verify.stdout)
      let checks = report["checks"]?.arrayValue ?? []
      for layer in testCase.grouped {
        let sizes = try #require(
          checks.first { $0["name"]?.stringValue == "layer \(layer.layer) expert sizes" })
        #expect(sizes["measures"]?["shared"]?.intValue == layer.shared)
        #expect(
          checks.contains {
            $0["name"]?.stringValue == "layer \(layer.layer) router"
              && $0["status"]?.stringValue == "passed"
          }, "\(testCase) layer \(layer.layer): \(checks)")
      }
      let inspect = try CommandRunner.run(["inspect", path])
      #expect(inspect.status == 0)
      #expect(inspect.stdout.contains("shared"), "\(inspect.stdout)")

      // run: the layer's output is numpy's masked EMoE FFN at the record's top-k.
      let layer = testCase.grouped[0]
      let record = try #require(
        try ContainerFile(path: path).layers.first { $0.layer == layer.layer })
      let tokens = 4
      let x = Self.inputs(tokens: tokens, dimension: record.hiddenSize, seed: 11)
      let inputs = directory.file("x.safetensors")
      try SafeTensorsWriter.write(
        to: inputs,
        tensors: [Tensor(name: "hidden_states", shape: [tokens, record.hiddenSize], float32: x)])
      let out = directory.file("y.safetensors")
      let run = try CommandRunner.run(
        ["run", path, "--inputs", inputs, "--out", out, "--layer", String(layer.layer), "-q"])
      #expect(run.status == 0, "\(run.stderr)")
      if try PythonOracle.available(["numpy", "safetensors"]) {
        let grouping = Self.grouping(
          layer, neurons: record.intermediateSize, seed: UInt64(layer.layer) + 7)
        let report = try Self.oracle(
          testCase, container: path, layer: layer, grouping: grouping, topK: record.topK,
          inputs: x)
        let masked = try Self.numbers(report, "masked")
        let file = try SafeTensorsFile(path: out)
        let output = try #require(file.entries.first { $0.name == "output" })
        let values = try Dequantizer.floats(of: file.tensor(for: output))
        #expect(Self.relativeError(values, masked) < 1e-5)
      }
    }
  }

  @Test(
    "int8-row and zstd-compressed shared containers verify: decoded shared rows, sparse = masked")
  func quantisedShared() throws {
    let directory = try TemporaryDirectory()
    for testCase in Self.cases {
      var quantised = testCase
      quantised.options.quantize = .int8
      quantised.options.compressionLevel = 3
      let path = try Self.convert(quantised, into: directory, name: testCase.fixture + "-q.emoe")
      let verify = try CommandRunner.run(
        ["verify", path, "--source", Self.source(testCase.fixture), "--top-k", "1,2", "--json"])
      #expect(verify.status == 0, "\(testCase): \(verify.stdout)\(verify.stderr)")
      let report = try JSONValue.parse(verify.stdout)
      let checks = report["checks"]?.arrayValue ?? []
      for layer in testCase.grouped {
        for name in ["layer \(layer.layer) k=1", "layer \(layer.layer) k=E"] {
          #expect(
            checks.contains {
              $0["name"]?.stringValue == name && $0["status"]?.stringValue == "passed"
            }, "\(testCase): \(name) in \(checks.compactMap { $0["name"]?.stringValue })")
        }
      }
    }
  }

  @Test("a manifest whose shared block does not fit is refused by inspect and verify")
  func badSharedManifest() throws {
    let directory = try TemporaryDirectory()
    let path = try Self.convert(Self.cases[1], into: directory)
    var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
    // bert-tiny layer 0: S = 8 of n = 128, 4 experts of 30; S = 9 leaves 119 for 120.
    try ContainerPatch.replaceInManifest(#""shared":8"#, #""shared":9"#, in: &bytes)
    let bad = directory.file("bad.emoe")
    try bytes.write(to: URL(fileURLWithPath: bad))
    let inspect = try CommandRunner.run(["inspect", bad])
    #expect(inspect.status == 2, "\(inspect.stderr)")
    #expect(inspect.stderr.contains("layers[0].expert_sizes"), "\(inspect.stderr)")
    #expect(inspect.stderr.contains("sum to 119 (n 128 less 9 shared)"), "\(inspect.stderr)")
    let verify = try CommandRunner.run(["verify", bad])
    #expect(verify.status != 0)
    #expect(verify.stderr.contains("less 9 shared"), "\(verify.stderr)")
  }

  @Test("verify fails (exit 5) a shared block whose neurons are not in ascending order")
  func sharedBlockOrder() throws {
    let directory = try TemporaryDirectory()
    let path = try Self.convert(Self.cases[1], into: directory)
    let container = try ContainerFile(path: path)
    let record = try #require(container.layers.first { $0.layer == 0 })
    let entry = try #require(container.entry(named: "emoe.layers.0.permutation"))
    var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
    // Swap stored positions 2 and 3 (both shared) of the I32 permutation.
    let a = entry.offset + 2 * 4
    let b = entry.offset + 3 * 4
    let first = bytes[a..<(a + 4)]
    bytes.replaceSubrange(a..<(a + 4), with: bytes[b..<(b + 4)])
    bytes.replaceSubrange(b..<(b + 4), with: first)
    try ContainerPatch.updateChecksum(of: entry, in: &bytes)
    let swapped = directory.file("swapped.emoe")
    try bytes.write(to: URL(fileURLWithPath: swapped))
    #expect(record.sharedCount == 8)
    let verify = try CommandRunner.run(["verify", swapped, "--json"])
    #expect(verify.status == 5, "\(verify.stdout)")
    let report = try JSONValue.parse(verify.stdout)
    let check = try #require(
      report["checks"]?.arrayValue?.first { $0["name"]?.stringValue == "layer 0 permutation" })
    #expect(check["status"]?.stringValue == "failed")
    #expect(
      check["detail"]?.stringValue?.contains("not in ascending original index") == true,
      "\(check)")
  }

  @Test(
    "export: safetensors (both layouts) round-trips with emoe.shared; gguf needs a GGUF source",
    .enabled(if: Oracles.python(["numpy", "safetensors"])), arguments: cases)
  func export(testCase: Case) throws {
    try PythonOracle.require(["numpy", "safetensors"])
    let directory = try TemporaryDirectory()
    let path = try Self.convert(testCase, into: directory)
    for layout in SafeTensorsExport.Layout.allCases {
      let folder = directory.file(layout.rawValue)
      let result = try CommandRunner.run(
        ["export", path, folder, "--to", "safetensors", "--layout", layout.rawValue, "-q"])
      #expect(result.status == 0, "\(layout): \(result.stderr)")
      let report = try Self.runOracle(
        "check_export.py",
        [
          TestPaths.fixtures + "/models/" + testCase.fixture, path, folder,
          layout == .dense ? "safetensors" : "experts",
        ])
      #expect(report["ok"]?.boolValue == true, "\(layout): \(report)")
      let config = try JSONValue.parse(
        String(
          decoding: try Data(contentsOf: URL(fileURLWithPath: folder + "/config.json")),
          as: UTF8.self))
      for layer in testCase.grouped {
        #expect(config["emoe"]?["shared"]?[String(layer.layer)]?.intValue == layer.shared)
      }
    }
    let gguf = try CommandRunner.run(["export", path, directory.file("m.gguf"), "--to", "gguf"])
    #expect(gguf.status == 2)
    // GGUF export (with the shared block as ernie4_5-moe's shared expert) needs a llama GGUF or
    // a LLaMA checkpoint with its tokenizer (the fixtures have none); BERT has no GGUF MoE.
    // LlamaCppExportTests covers the shared expert with SmolLM2.
    let reason =
      testCase.fixture.hasPrefix("bert")
      ? "'bert' has no GGUF export" : "tokenizer.json does not exist"
    #expect(gguf.stderr.contains(reason), "\(gguf.stderr)")
    #expect(!FileManager.default.fileExists(atPath: directory.file("m.gguf")))
  }

  @Test("active compute counts the shared block as always active")
  func activeCompute() throws {
    let directory = try TemporaryDirectory()
    let path = try Self.convert(Self.cases[0], into: directory)
    let container = try ContainerFile(path: path)
    // Layer 1 only, at k = 3 of 8 experts of 30 neurons, with 16 shared: GLU, d = 64, n = 256.
    let compute = ActiveCompute(
      container: container, topK: [1: 3], layerCount: 1, denseCost: 3 * 64 * 256)
    let expected = (3.0 * 64 * Double(16 + 3 * 30) + Double(8 * 64)) / (3.0 * 64 * 256)
    #expect(abs(compute.convertedLayers - expected) < 1e-12, "\(compute)")
  }

  @Test("--shared-neurons needs --calibration (exit 64); N and P% are recorded as given")
  func sharedNeuronsOption() throws {
    let directory = try TemporaryDirectory()
    let output = directory.file("m.emoe")
    let refused = try CommandRunner.run(
      ["convert", Self.source("bert-tiny"), output, "--shared-neurons", "16"])
    #expect(refused.status == 64, "\(refused.stderr)")
    #expect(refused.stderr.contains("--shared-neurons 16 needs --calibration"), "\(refused.stderr)")
    let malformed = try CommandRunner.run(
      ["convert", Self.source("bert-tiny"), output, "--shared-neurons", "120%"])
    #expect(malformed.status == 64)
    #expect(malformed.stderr.contains("'120%'"), "\(malformed.stderr)")
    #expect(!FileManager.default.fileExists(atPath: output))

    #expect(SharedNeurons("16") == .count(16))
    #expect(SharedNeurons("12.5%") == .fraction(0.125))
    #expect(SharedNeurons("12.5%")?.count(neurons: 1000) == 125)
    #expect(SharedNeurons("-1") == nil)
    #expect(SharedNeurons("100%") == nil)
    for value in [SharedNeurons.count(16), .fraction(0.125)] {
      let options = ConversionOptions(sharedNeurons: value, calibration: "text.txt")
      let json = options.json
      #expect(
        json["shared_neurons"]
          == (value == .count(16) ? .integer(16) : .string("12.5%")))
      #expect(json["calibration"] == .string("text.txt"))
      #expect(try ConversionOptions(json: json) == options)
    }
    #expect(throws: ConversionError.self) {
      try ConversionOptions(sharedNeurons: .count(4)).validate()
    }
    // Options that record a calibration need the groupings computed from it.
    let calibrated = ConversionOptions(
      experts: 4, topK: 2, layers: "all", restarts: 1, sharedNeurons: .count(8),
      calibration: "text.txt")
    let error = #expect(throws: ConversionError.self) {
      _ = try ConversionPlan(input: Self.source("bert-tiny"), options: calibrated)
    }
    #expect("\(String(describing: error))".contains("no neuron grouping was computed"))
    var withGrouping = Self.cases[1]
    withGrouping.options = calibrated
    #expect(throws: Never.self) {
      _ = try ConversionPlan(
        input: Self.source("bert-tiny"), options: calibrated,
        groupings: Self.groupings(withGrouping, neurons: 128))
    }
  }
}

/// An oracle script that printed no JSON report.
struct OracleReportMissing: Error, CustomStringConvertible {
  var description: String
}
