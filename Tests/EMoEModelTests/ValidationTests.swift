import EMoECore
import EMoEFormats
import EMoETestSupport
import Testing

@testable import EMoEModel

@Suite("Validation before work")
struct ValidationTests {
  @Test("n not divisible by E names the layer and its key tensor; uneven sizes lift it")
  func notDivisible() throws {
    let source = try ModelFixtures.open("bert-tiny")
    let layers = try Architecture.detect(source).layers([0, 1], in: source)
    #expect(throws: ModelError.self) { try ExpertSettings(experts: 12, topK: 2).validate(layers) }
    do {
      try ExpertSettings(experts: 12, topK: 2).validate(layers)
    } catch {
      guard case .expertsDoNotDivide(let layer, let neurons, let experts, let location) = error
      else {
        Issue.record("unexpected \(error)")
        return
      }
      #expect(layer == 0 && neurons == 128 && experts == 12)
      #expect(location.tensor == "encoder.layer.0.intermediate.dense.weight")
      #expect(error.description.contains("layer 0"))
    }
    try ExpertSettings(experts: 12, topK: 2, allowUneven: true).validate(layers)
    try ExpertSettings(experts: 16, topK: 4).validate(layers)
  }

  @Test("top-k outside 1...E and E above n are errors", arguments: [(16, 0), (16, 17), (0, 1)])
  func topK(experts: Int, topK: Int) throws {
    let source = try ModelFixtures.open("bert-tiny")
    let layers = try Architecture.detect(source).layers([1], in: source)
    #expect(throws: ModelError.topKOutOfRange(topK: topK, experts: experts)) {
      try ExpertSettings(experts: experts, topK: topK).validate(layers)
    }
    #expect {
      try ExpertSettings(experts: 256, topK: 4).validate(layers)
    } throws: { error in
      guard case .expertCountOutOfRange(let layer, 128, 256, _)? = error as? ModelError else {
        return false
      }
      return layer == 1
    }
  }

  @Test(
    "a missing FFN tensor in one layer is an error naming the layer, role and tensor",
    .enabled(if: Oracles.python(["numpy", "safetensors"])))
  func missingTensor() throws {
    try PythonOracle.require(["numpy", "safetensors"])
    let folder = try TemporaryDirectory()
    try ModelFixtures.write(
      folder: folder.path,
      tensors:
        "{k: v for k, v in \(ModelFixtures.bertTensors()).items() if k != 'encoder.layer.1.output.dense.weight'}"
    )
    let source = try SafeTensorsCheckpoint(path: folder.path)
    let architecture = try Architecture.detect(source)
    _ = try architecture.layer(0, in: source)
    #expect(
      throws: ModelError.missingTensor(
        layer: 1, role: .w2,
        location: ErrorLocation(file: source.path, tensor: "encoder.layer.1.output.dense.weight"))
    ) { try architecture.layers([0, 1], in: source) }
  }

  @Test(
    "shapes that disagree are an error naming the layer and tensor",
    .enabled(if: Oracles.python(["numpy", "safetensors"])))
  func shapeMismatch() throws {
    try PythonOracle.require(["numpy", "safetensors"])
    let folder = try TemporaryDirectory()
    try ModelFixtures.write(
      folder: folder.path,
      tensors: ModelFixtures.bertTensors(
        override: "{'encoder.layer.1.intermediate.dense.bias': np.zeros(63, np.float32)}"))
    let source = try SafeTensorsCheckpoint(path: folder.path)
    #expect(
      throws: ModelError.shapeMismatch(
        layer: 1, role: .b1, expected: [64], found: [63],
        location: ErrorLocation(
          file: source.path, tensor: "encoder.layer.1.intermediate.dense.bias"))
    ) { try Architecture.detect(source).layers([0, 1], in: source) }
  }

  @Test(
    "NaN or infinity in a key matrix is an error naming the layer, tensor and row",
    .enabled(if: Oracles.python(["numpy", "safetensors"])))
  func nonFiniteKeys() throws {
    try PythonOracle.require(["numpy", "safetensors"])
    let folder = try TemporaryDirectory()
    let w1 = "np.where(np.arange(64*16).reshape(64, 16) == 37*16 + 5, np.inf, 1).astype(np.float32)"
    try ModelFixtures.write(
      folder: folder.path,
      tensors: ModelFixtures.bertTensors(
        override: "{'encoder.layer.1.intermediate.dense.weight': \(w1)}"))
    let source = try SafeTensorsCheckpoint(path: folder.path)
    let ffn = try Architecture.detect(source).layer(1, in: source)
    #expect(
      throws: ModelError.nonFinite(
        layer: 1, row: 37,
        location: ErrorLocation(
          file: source.path, tensor: "encoder.layer.1.intermediate.dense.weight"))
    ) { try ffn.keys() }
  }

  @Test("a layer past the end is an error")
  func layerOutOfRange() throws {
    let source = try ModelFixtures.open("llama-tiny")
    #expect(throws: ModelError.layerOutOfRange(layer: 4, layerCount: 4)) {
      try Architecture.detect(source).layer(4, in: source)
    }
  }
}
