import EMoEConvert
import EMoECore
import EMoEFormats
import EMoEModel
import EMoETestSupport
import Foundation
import Testing

/// Every error a conversion can foresee is raised by ``ConversionPlan`` before any work, with a
/// message naming the layer and tensor.
@Suite("convert: plan validation")
struct ConversionPlanTests {
  /// Plans `input` and returns the error's message, or `nil` when planning succeeded.
  func planError(_ input: String, _ options: ConversionOptions) -> ConversionError? {
    do {
      _ = try ConversionPlan(input: input, options: options)
      return nil
    } catch {
      return error
    }
  }

  @Test("n not divisible by E names the layer and its key tensor")
  func notDivisible() throws {
    let error = try #require(
      planError(ConvertTestSupport.fixture("bert-tiny"), ConversionOptions(experts: 3)))
    guard case .model(.expertsDoNotDivide(let layer, 128, 3, _)) = error else {
      Issue.record("unexpected \(error)")
      return
    }
    #expect(layer == 0)
    #expect("\(error)".contains("encoder.layer.0.intermediate.dense.weight"))
    // Allowed with --allow-uneven.
    #expect(
      planError(
        ConvertTestSupport.fixture("bert-tiny"), ConversionOptions(experts: 3, allowUneven: true))
        == nil)
  }

  @Test("top-k above the model's E is a model error")
  func topKAboveModel() throws {
    let error = try #require(
      planError(ConvertTestSupport.fixture("bert-tiny"), ConversionOptions(topK: 17)))
    guard case .model(.topKOutOfRange(17, 16)) = error else {
      Issue.record("unexpected \(error)")
      return
    }
    #expect("\(error)".contains("top-k 17"))
  }

  @Test(
    "top-k outside 1...E that the options alone refute is an options error",
    arguments: [(0, nil), (0, 4), (5, 4)] as [(Int, Int?)])
  func topKAgainstOptions(topK: Int, experts: Int?) throws {
    let options = ConversionOptions(experts: experts, topK: topK)
    #expect(throws: ConversionError.self) { try options.validate() }
    let error = try #require(planError(ConvertTestSupport.fixture("bert-tiny"), options))
    guard case .invalidOptions(let message) = error else {
      Issue.record("unexpected \(error)")
      return
    }
    #expect(message.contains("--top-k"))
    #expect(message.contains("\(topK)"))
  }

  @Test("a missing FFN tensor names the layer and tensor")
  func missingTensor() throws {
    let directory = try TemporaryDirectory()
    let path = try ConvertTestSupport.variant(of: "llama-tiny", in: directory) { tensor in
      tensor.name == "model.layers.2.mlp.up_proj.weight" ? nil : tensor
    }
    let error = try #require(planError(path, ConversionOptions(layers: "2")))
    guard case .model(.missingTensor(2, .up, _)) = error else {
      Issue.record("unexpected \(error)")
      return
    }
    #expect("\(error)".contains("model.layers.2.mlp.up_proj.weight"))
  }

  @Test("shapes that disagree name the layer and tensor")
  func shapeMismatch() throws {
    let directory = try TemporaryDirectory()
    let path = try ConvertTestSupport.variant(of: "llama-tiny", in: directory) { tensor in
      guard tensor.name == "model.layers.2.mlp.up_proj.weight" else { return tensor }
      return Tensor(
        name: tensor.name, shape: [128, 64], float32: [Float](repeating: 0, count: 128 * 64))
    }
    let error = try #require(planError(path, ConversionOptions(layers: "2")))
    guard case .model(.shapeMismatch(2, .up, [256, 64], [128, 64], _)) = error else {
      Issue.record("unexpected \(error)")
      return
    }
    #expect("\(error)".contains("model.layers.2.mlp.up_proj.weight"))
  }

  @Test("NaN or infinity in a key matrix names the layer, tensor and key")
  func nonFiniteKey() throws {
    for bad in [Float.nan, -.infinity] {
      let directory = try TemporaryDirectory()
      let path = try ConvertTestSupport.variant(of: "gpt2-tiny", in: directory) { tensor in
        guard tensor.name == "h.1.mlp.c_fc.weight" else { return tensor }
        // Conv1D c_fc is [d, n]: column 77 is key 77.
        var values = try tensor.floatValues()
        values[5 * 192 + 77] = bad
        return Tensor(name: tensor.name, shape: tensor.shape, float32: values)
      }
      let error = try #require(planError(path, ConversionOptions(experts: 4, layers: "all")))
      guard case .model(.nonFinite(1, 77, _)) = error else {
        Issue.record("unexpected \(error)")
        return
      }
      #expect("\(error)".contains("h.1.mlp.c_fc.weight"))
    }
  }

  @Test("an unknown model lists its tensor-name shapes and how to write --ffn-pattern")
  func unknownModel() throws {
    let directory = try TemporaryDirectory()
    let path = try ConvertTestSupport.variant(of: "llama-tiny", in: directory, config: false) {
      tensor in
      var renamed = tensor
      renamed.name = tensor.name.replacingOccurrences(of: "model.layers.", with: "blocks.")
        .replacingOccurrences(of: "mlp.gate_proj", with: "ff.wi_0")
        .replacingOccurrences(of: "mlp.up_proj", with: "ff.wi_1")
        .replacingOccurrences(of: "mlp.down_proj", with: "ff.wo")
      return renamed
    }
    let error = try #require(planError(path, ConversionOptions()))
    guard case .model(.unknownArchitecture) = error else {
      Issue.record("unexpected \(error)")
      return
    }
    let message = "\(error)"
    #expect(message.contains("blocks.{L}.ff.wi_0.weight"))
    #expect(message.contains("[256, 64] F32"))
    #expect(message.contains("--ffn-pattern"))
    // The pattern the message suggests converts the model.
    let pattern =
      "gate=blocks.{L}.ff.wi_0.weight,up=blocks.{L}.ff.wi_1.weight,down=blocks.{L}.ff.wo.weight"
    let plan = try ConversionPlan(
      input: path, options: ConversionOptions(experts: 4, ffnPattern: pattern))
    #expect(plan.architecture.isGLU)
    #expect(plan.layers.map(\.index) == [2])
  }

  @Test("options that do not fit the model")
  func misfittingOptions() throws {
    let cases: [(String, ConversionOptions, String)] = [
      ("bert-tiny", ConversionOptions(clusterOn: .up), "--cluster-on up"),
      ("gpt2-tiny", ConversionOptions(experts: 4, quantize: .q8_0), "d = 48"),
      ("llama-tiny", ConversionOptions(routerBias: true), "gate_bias"),
      ("bert-tiny", ConversionOptions(experts: 0), "--experts"),
      ("bert-tiny", ConversionOptions(layers: "7"), "layer 7"),
    ]
    for (fixture, options, phrase) in cases {
      let error = try #require(planError(ConvertTestSupport.fixture(fixture), options))
      #expect("\(error)".contains(phrase), "\(error)")
      #expect(!error.isIOFailure)
    }
  }

  @Test("a container as input is refused")
  func containerInput() throws {
    let directory = try TemporaryDirectory()
    let (path, _) = try ConvertTestSupport.convert(
      ConvertTestSupport.fixture("bert-tiny"), ConversionOptions(experts: 4), into: directory)
    let error = try #require(planError(path, ConversionOptions()))
    #expect("\(error)".contains("already an .emoe container"))
  }

  @Test("a failed conversion leaves no file behind")
  func noOutputOnError() throws {
    let directory = try TemporaryDirectory()
    let plan = try ConversionPlan(
      input: ConvertTestSupport.fixture("bert-tiny"), options: ConversionOptions(experts: 4))
    // Writing over the input is refused before anything is written.
    #expect(throws: ConversionError.self) {
      _ = try Converter(plan: plan, tool: ConvertTestSupport.tool).run(
        output: ConvertTestSupport.fixture("bert-tiny") + "/model.safetensors")
    }
    // A folder that does not exist fails on the first write, leaving nothing.
    #expect(throws: ConversionError.self) {
      _ = try Converter(plan: plan, tool: ConvertTestSupport.tool).run(
        output: directory.file("missing/out.emoe"))
    }
    #expect(try ConvertTestSupport.files(in: directory).isEmpty)
  }

  @Test("options round-trip through their canonical JSON")
  func optionsJSON() throws {
    let options = ConversionOptions(
      experts: 8, topK: 3, layers: "last:2", clusterOn: .up, quantize: .int8,
      compressionLevel: 5, seed: 9, threads: 2, ffnPattern: "w1=a.{L}.w,w2=b.{L}.w",
      restarts: 4, allowUneven: true, routerBias: true, sharedNeurons: .fraction(0.125),
      calibration: "text.txt", calibrationTokens: 300, maxPerplexityIncrease: 0.25, router: .up)
    var parsed = try ConversionOptions(json: options.json)
    var encoder = options
    encoder.maxPerplexityIncrease = nil
    encoder.minCosine = 0.9
    encoder.threads = nil
    #expect(try ConversionOptions(json: encoder.json) == encoder)
    #expect(parsed.threads == nil, "the thread count is not recorded")
    parsed.threads = 2
    #expect(parsed == options)
    #expect(
      ConversionOptions().json.serialized()
        == #"{"experts":null,"top_k":null,"layers":null,"cluster_on":"gate","quantize":"none","compress":null,"seed":0,"restarts":null,"allow_uneven":false,"router_bias":false,"ffn_pattern":null,"shared_neurons":null,"calibration":null,"calibration_tokens":null,"max_ppl_increase":null,"min_cosine":null}"#
    )
    // Containers written before the router was called the router record `gate_bias`.
    let old = try ConversionOptions(json: .object([JSONMember("gate_bias", .bool(true))]))
    #expect(old.routerBias)
    #expect(throws: ConversionError.self) {
      _ = try ConversionOptions(json: .object([JSONMember("expert", .integer(3))]))
    }
  }

  @Test("the depfile escapes spaces, # and $ as Make reads them")
  func depfile() throws {
    let text = try DependencyFile.text(
      target: "out dir/m.emoe", prerequisites: ["in/model #1.safetensors", "cost$.json"])
    #expect(text == "out\\ dir/m.emoe: in/model\\ \\#1.safetensors cost$$.json\n")
    let plan = try ConversionPlan(
      input: ConvertTestSupport.fixture("llama-tiny-sharded"), options: ConversionOptions())
    let folder = ConvertTestSupport.fixture("llama-tiny-sharded")
    #expect(
      plan.dependencies == [
        folder + "/model.safetensors.index.json", folder + "/model-00001-of-00002.safetensors",
        folder + "/model-00002-of-00002.safetensors", folder + "/config.json",
      ])
  }

  @Test("the source format is recorded by its file kind: a file, or a sharded index")
  func recordedSourceKind() throws {
    for (fixture, kind) in [
      ("bert-tiny/model.safetensors", FileKind.safetensors),
      ("llama-tiny-sharded", .safetensorsIndex),
    ] {
      let plan = try ConversionPlan(
        input: ConvertTestSupport.fixture(fixture), options: ConversionOptions())
      #expect(plan.sourceFormat == kind)
      let recorded = plan.containerPlan(
        sourceFiles: [], tool: ContainerTool(name: "emoe-pack", version: "test")
      ).source
      #expect(recorded.format == kind.rawValue)
      #expect(recorded.kind == kind)
    }
    #expect(FileKind.safetensorsIndex.rawValue == "safetensors_index")
  }
}
