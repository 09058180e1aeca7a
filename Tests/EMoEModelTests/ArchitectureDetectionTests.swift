import EMoECore
import EMoEFormats
import EMoETestSupport
import Testing

@testable import EMoEModel

@Suite("Architecture detection")
struct ArchitectureDetectionTests {
  @Test("bert-tiny is BERT from config.json model_type, GELU, 2 layers of 128 x 32")
  func bertTiny() throws {
    let architecture = try Architecture.detect(ModelFixtures.open("bert-tiny"))
    #expect(architecture.family.name == "bert")
    #expect(architecture.detection == .configModelType("bert"))
    #expect(architecture.activation == .gelu)
    #expect(!architecture.isGLU)
    #expect(architecture.ffnLayers == [0, 1])
    #expect(architecture.layerCount == 2)
    #expect(architecture.hiddenSize == 32)
    #expect(architecture.intermediateSize == 128)
    #expect(architecture.prefix == "")
    #expect(
      architecture.tensorName(.w2, layer: 1) == "encoder.layer.1.output.dense.weight")
  }

  @Test("gpt2-tiny is GPT-2 with transposed Conv1D weights and gelu_new")
  func gpt2Tiny() throws {
    let architecture = try Architecture.detect(ModelFixtures.open("gpt2-tiny"))
    #expect(architecture.family.name == "gpt2")
    #expect(architecture.activation == .geluTanh)
    #expect(architecture.pattern.transposed)
    #expect(architecture.hiddenSize == 48)
    #expect(architecture.intermediateSize == 192)
    #expect(architecture.ffnLayers == [0, 1])
  }

  @Test("llama-tiny and its sharded copy are LLaMA GLU with SiLU, 4 layers of 256 x 64")
  func llamaTiny() throws {
    for name in ["llama-tiny", "llama-tiny-sharded"] {
      let architecture = try Architecture.detect(ModelFixtures.open(name))
      #expect(architecture.family.name == "llama")
      #expect(architecture.isGLU)
      #expect(architecture.activation == .silu)
      #expect(architecture.ffnLayers == [0, 1, 2, 3])
      #expect(architecture.layerCount == 4)
      #expect(architecture.hiddenSize == 64)
      #expect(architecture.intermediateSize == 256)
    }
  }

  @Test(
    "the real all-MiniLM-L6-v2 is BERT: 6 layers, d 384, n 1536, GELU", .enabled(if: Oracles.miniLM)
  )
  func miniLM() throws {
    let path = try #require(try TestPaths.miniLM())
    let architecture = try Architecture.detect(SafeTensorsCheckpoint(path: path))
    #expect(architecture.family.name == "bert")
    #expect(architecture.activation == .gelu)
    #expect(architecture.ffnLayers == Array(0..<6))
    #expect(architecture.hiddenSize == 384)
    #expect(architecture.intermediateSize == 1536)
    let defaults = ConversionDefaults.paper(for: architecture)
    #expect(defaults.experts == 16 && defaults.topK == 4)
    #expect(try defaults.layers.resolve(layerCount: architecture.layerCount) == [4, 5])
  }

  @Test(
    "the real SmolLM2 GGUF is llama-family GGUF: 30 layers, d 576, n 1536, Q4_1 keys",
    .enabled(if: Oracles.smolLM2))
  func smolLM2() throws {
    let path = try #require(try TestPaths.smolLM2())
    let source = try GGUFFile(path: path)
    let architecture = try Architecture.detect(source)
    #expect(architecture.family.name == "gguf-llama")
    #expect(architecture.detection == .ggufArchitecture("llama"))
    #expect(architecture.activation == .silu)
    #expect(architecture.layerCount == 30)
    #expect(architecture.ffnLayers == Array(0..<30))
    #expect(architecture.hiddenSize == 576)
    #expect(architecture.intermediateSize == 1536)
    let ffn = try architecture.layer(0, in: source)
    #expect(ffn.member(.gate)?.info.dtype == .q4_1)
    #expect(ffn.member(.down)?.info.shape == [576, 1536])
    let defaults = ConversionDefaults.paper(for: architecture)
    #expect(defaults.experts == 64 && defaults.topK == 16)
    #expect(
      try defaults.layers.resolve(layerCount: 30) == [15, 17, 19, 21, 23, 25, 27, 29])
  }

  @Test(
    "without config.json the family comes from tensor names, also behind a prefix",
    .enabled(if: Oracles.python(["numpy", "safetensors"])))
  func tensorNamesWithPrefix() throws {
    try PythonOracle.require(["numpy", "safetensors"])
    let folder = try TemporaryDirectory()
    try ModelFixtures.write(
      folder: folder.path,
      tensors: "{'bert.' + k: v for k, v in \(ModelFixtures.bertTensors()).items()}")
    let architecture = try Architecture.detect(SafeTensorsCheckpoint(path: folder.path))
    #expect(architecture.family.name == "bert")
    #expect(architecture.detection == .tensorNames)
    #expect(architecture.prefix == "bert.")
    #expect(architecture.layerCount == 2)
    let ffn = try architecture.layer(1, in: SafeTensorsCheckpoint(path: folder.path))
    #expect(ffn.member(.b2)?.info.name == "bert.encoder.layer.1.output.dense.bias")
  }

  @Test(
    "config.json model_type picks RoBERTa, ViT, Mistral, Qwen2, Qwen3 and Gemma over shared layouts",
    .enabled(if: Oracles.python(["numpy", "safetensors"])),
    arguments: [
      ("roberta", "bert", "roberta", FFNActivation.gelu),
      ("vit", "bert", "vit", .gelu),
      ("mistral", "llama", "mistral", .silu),
      ("qwen2", "llama", "qwen2", .silu),
      ("qwen3", "llama", "qwen3", .silu),
      ("gemma", "llama", "gemma", .geluTanh),
      ("gemma2", "llama", "gemma2", .geluTanh),
      ("gemma3_text", "llama", "gemma3", .geluTanh),
    ])
  func sharedLayouts(modelType: String, layout: String, family: String, activation: FFNActivation)
    throws
  {
    try PythonOracle.require(["numpy", "safetensors"])
    let folder = try TemporaryDirectory()
    let tensors =
      layout == "bert"
      ? ModelFixtures.bertTensors()
      : """
      {f'model.layers.{i}.mlp.{p}_proj.weight': rng.standard_normal((16, 64) if p == 'down' else (64, 16)).astype(np.float32)
       for i in range(3) for p in ('gate', 'up', 'down')}
      """
    try ModelFixtures.write(
      folder: folder.path, tensors: tensors,
      // As many layers as the tensors hold: a larger count is refused as contradicting them.
      config: "{'model_type': '\(modelType)', 'num_hidden_layers': \(layout == "bert" ? 2 : 3)}")
    let architecture = try Architecture.detect(SafeTensorsCheckpoint(path: folder.path))
    #expect(architecture.family.name == family)
    #expect(architecture.activation == activation)
    #expect(architecture.isGLU == (layout == "llama"))
  }

  @Test(
    "Gemma's legacy hidden_act gelu is the tanh approximation; Gemma 2 reads hidden_activation",
    .enabled(if: Oracles.python(["numpy", "safetensors"])),
    arguments: [
      ("{'model_type': 'gemma', 'hidden_act': 'gelu'}", FFNActivation.geluTanh),
      ("{'model_type': 'gemma', 'hidden_act': 'silu'}", .silu),
      ("{'model_type': 'gemma2', 'hidden_act': 'silu', 'hidden_activation': 'gelu'}", .gelu),
      ("{'model_type': 'llama', 'hidden_act': 'gelu'}", .gelu),
    ])
  func gemmaActivations(config: String, activation: FFNActivation) throws {
    try PythonOracle.require(["numpy", "safetensors"])
    let folder = try TemporaryDirectory()
    try ModelFixtures.write(
      folder: folder.path,
      tensors: """
        {f'model.layers.{i}.mlp.{p}_proj.weight': rng.standard_normal((16, 64) if p == 'down' else (64, 16)).astype(np.float32)
         for i in range(3) for p in ('gate', 'up', 'down')}
        """, config: config)
    let architecture = try Architecture.detect(SafeTensorsCheckpoint(path: folder.path))
    #expect(architecture.activation == activation, "\(config)")
  }

  @Test(
    "config.json architectures is used when model_type is absent, and hidden_act wins",
    .enabled(if: Oracles.python(["numpy", "safetensors"])))
  func architecturesClassName() throws {
    try PythonOracle.require(["numpy", "safetensors"])
    let folder = try TemporaryDirectory()
    try ModelFixtures.write(
      folder: folder.path, tensors: ModelFixtures.bertTensors(),
      config: "{'architectures': ['RobertaForMaskedLM'], 'hidden_act': 'relu'}")
    let architecture = try Architecture.detect(SafeTensorsCheckpoint(path: folder.path))
    #expect(architecture.family.name == "roberta")
    #expect(architecture.detection == .configArchitectures("RobertaForMaskedLM"))
    #expect(architecture.activation == .relu)
  }

  @Test(
    "an unknown activation in config.json is an error naming the key",
    .enabled(if: Oracles.python(["numpy", "safetensors"])))
  func unknownActivation() throws {
    try PythonOracle.require(["numpy", "safetensors"])
    let folder = try TemporaryDirectory()
    try ModelFixtures.write(
      folder: folder.path, tensors: ModelFixtures.bertTensors(),
      config: "{'model_type': 'bert', 'hidden_act': 'mish'}")
    #expect {
      try Architecture.detect(SafeTensorsCheckpoint(path: folder.path))
    } throws: { error in
      guard case ModelError.unknownActivation(let name, let location)? = error as? ModelError
      else { return false }
      return name == "mish" && location.key == "hidden_act"
    }
  }

  @Test(
    "an unknown model's error lists its name shapes with {L} and suggests a pattern",
    .enabled(if: Oracles.python(["numpy", "safetensors"])))
  func unknownModelListsShapes() throws {
    try PythonOracle.require(["numpy", "safetensors"])
    let folder = try TemporaryDirectory()
    try ModelFixtures.write(
      folder: folder.path,
      tensors: """
        {**{f'blocks.{i}.ffn.fc_in.weight': np.zeros((64, 16), np.float32) for i in range(3)},
         **{f'blocks.{i}.ffn.fc_out.weight': np.zeros((16, 64), np.float32) for i in range(3)},
         'embed.weight': np.zeros((10, 16), np.float32)}
        """)
    var caught: ModelError?
    do {
      _ = try Architecture.detect(SafeTensorsCheckpoint(path: folder.path))
    } catch let error as ModelError {
      caught = error
    }
    guard case .unknownArchitecture(_, _, let names)? = caught else {
      Issue.record("expected unknownArchitecture, got \(String(describing: caught))")
      return
    }
    #expect(
      names.map(\.template).sorted() == [
        "blocks.{L}.ffn.fc_in.weight", "blocks.{L}.ffn.fc_out.weight", "embed.weight",
      ])
    let fcIn = try #require(names.first { $0.template == "blocks.{L}.ffn.fc_in.weight" })
    #expect(fcIn.shapes == [[64, 16]] && fcIn.count == 3)
    let message = try #require(caught).description
    #expect(message.contains("blocks.{L}.ffn.fc_in.weight"))
    #expect(message.contains("[64, 16] F32 ×3"))
    #expect(message.contains("--ffn-pattern"))
    #expect(message.contains("w1=blocks.{L}.ffn.fc_in.weight,w2=blocks.{L}.ffn.fc_out.weight"))
  }

  @Test("the name template replaces only all-digit components")
  func templates() {
    #expect(TensorNameShape.template(of: "h.11.mlp.c_fc.weight") == "h.{L}.mlp.c_fc.weight")
    #expect(TensorNameShape.template(of: "blk.3.ffn_gate.weight") == "blk.{L}.ffn_gate.weight")
    #expect(TensorNameShape.template(of: "conv1d.weight") == "conv1d.weight")
    #expect(TensorNameShape.template(of: "a.0.b.12.c") == "a.{L}.b.{L}.c")
  }
}
