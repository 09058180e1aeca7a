import EMoECore
import EMoEFormats
import EMoEModel
import EMoENumerics
import EMoERunner
import EMoETestSupport
import Testing

/// Whole models with some FFNs replaced by their EMoE form through the runners' hook: at k = E
/// the model's outputs equal the dense model's, at k < E the masked and sparse paths agree, and
/// the runner's own FFNs agree with the model registry's ``LayerFFN`` view.
@Suite("whole models with EMoE FFNs")
struct EMoEModelTests {
  /// A fixed scatter of n neurons into E equal experts (a stand-in for clustering).
  static func partition(neurons: Int, experts: Int) -> (permutation: [Int], boundaries: [Int]) {
    var generator = ExpertFFNTests.SplitMix(state: UInt64(neurons * 31 + experts))
    let permutation = Array((0..<neurons).shuffled(using: &generator))
    let size = neurons / experts
    return (permutation, (0...experts).map { $0 * size })
  }

  /// EMoE runners for `layers`, each FFN split into `experts` experts.
  static func experts(
    _ dense: (Int) -> DenseFFN, layers: [Int], experts: Int, topK: Int, path: ExpertFFN.Path,
    encoding: EncodedRows.Encoding = .f32
  ) throws -> [Int: any FeedForwardBlock] {
    var result: [Int: any FeedForwardBlock] = [:]
    for layer in layers {
      let ffn = dense(layer)
      let split = partition(neurons: ffn.intermediateSize, experts: experts)
      let weights = try ExpertFFNWeights(
        permuting: ffn, permutation: split.permutation, expertBoundaries: split.boundaries,
        encoding: encoding, gateBias: ffn.upBias != nil)
      result[layer] = try ExpertFFN(weights: weights, topK: topK, path: path)
    }
    return result
  }

  @Test("BERT (bert-tiny, MiniLM): k = E equals dense; masked and sparse agree at k = E/4")
  func bert() throws {
    var models = [(TestPaths.fixtures + "/models/bert-tiny", [0, 1], 8)]
    if let miniLM = try TestPaths.miniLM() { models.append((miniLM, [4, 5], 16)) }
    for (path, layers, count) in models {
      let encoder = try BertEncoder(source: SafeTensorsCheckpoint(path: path))
      let tokens = [1, 5, 9, 2, 17, 30, 4, 11, 6, 3]
      let dense = try encoder.hiddenStates(tokens: tokens)
      let d = encoder.configuration.hiddenSize
      for path in ExpertFFN.Path.allCases {
        let full = try encoder.hiddenStates(
          tokens: tokens,
          replacing: Self.experts(
            encoder.feedForward, layers: layers, experts: count, topK: count, path: path))
        let comparison = RowComparison(full, dense, columns: d)
        #expect(comparison.maxAbs <= 1e-4, "\(path) k=E: \(comparison.maxAbs)")
      }
      let outputs = try ExpertFFN.Path.allCases.map { path in
        try encoder.hiddenStates(
          tokens: tokens,
          replacing: Self.experts(
            encoder.feedForward, layers: layers, experts: count, topK: count / 4, path: path))
      }
      let agreement = RowComparison(outputs[0], outputs[1], columns: d)
      #expect(agreement.maxAbs <= 1e-4, "sparse vs masked at k=E/4: \(agreement.maxAbs)")
      #expect(RowComparison(outputs[0], dense, columns: d).maxAbs > 1e-3, "the hook was not used")
    }
  }

  @Test("LLaMA (llama-tiny, SmolLM2 Q8_0 experts): k = E equals dense; masked and sparse agree")
  func llama() throws {
    // F32 experts differ from dense by float rounding only; SmolLM2's Q8_0 experts (its Q4_1
    // weights requantised) by the quantisation error of two layers (logit cosine ≈ 0.9996).
    var models: [(any ModelSource, [Int], EncodedRows.Encoding, Float, Double)] = [
      (
        try SafeTensorsCheckpoint(path: TestPaths.fixtures + "/models/llama-tiny"), [2, 3], .f32,
        1e-5, 0.99999
      )
    ]
    if let smol = try TestPaths.smolLM2() {
      models.append((try GGUFFile(path: smol), [28, 29], .q8_0, 0.05, 0.999))
    }
    for (source, layers, encoding, fullTolerance, minimumCosine) in models {
      let decoder = try LlamaDecoder(source: source)
      let tokens = [1, 4093, 198, 1780, 314, 260, 3575, 282].map {
        $0 % decoder.configuration.vocabularySize
      }
      let dense = try decoder.run(tokens: tokens)
      let v = decoder.configuration.vocabularySize
      for path in ExpertFFN.Path.allCases {
        let full = try decoder.run(
          tokens: tokens,
          replacing: Self.experts(
            decoder.feedForward, layers: layers, experts: 16, topK: 16, path: path,
            encoding: encoding))
        let logits = RowComparison(full.logits, dense.logits, columns: v)
        #expect(
          logits.maxAbs <= fullTolerance * max(1, logits.referenceMax),
          "\(path) k=E: \(logits.maxAbs)")
        #expect(logits.minCosine >= minimumCosine, "\(path) k=E: cosine \(logits.minCosine)")
      }
      let outputs = try ExpertFFN.Path.allCases.map { path in
        try decoder.run(
          tokens: tokens,
          replacing: Self.experts(
            decoder.feedForward, layers: layers, experts: 16, topK: 4, path: path,
            encoding: encoding))
      }
      let agreement = RowComparison(outputs[0].logits, outputs[1].logits, columns: v)
      #expect(
        agreement.maxAbs <= 1e-4 * max(1, agreement.referenceMax),
        "sparse vs masked: \(agreement.maxAbs)")
      #expect(RowComparison(outputs[0].logits, dense.logits, columns: v).maxAbs > 1e-3)
    }
  }

  @Test("the runners' FFNs equal DenseFFN built from the registry's LayerFFN view")
  func layerFFNAgrees() throws {
    var random = ExpertFFNTests.SplitMix(state: 4)
    let bert = try SafeTensorsCheckpoint(path: TestPaths.fixtures + "/models/bert-tiny")
    let llama = try SafeTensorsCheckpoint(path: TestPaths.fixtures + "/models/llama-tiny")
    let pairs: [(any ModelSource, (Int) -> DenseFFN)] = [
      (bert, try BertEncoder(source: bert).feedForward),
      (llama, try LlamaDecoder(source: llama).feedForward),
    ]
    for (source, runnerFFN) in pairs {
      let architecture = try Architecture.detect(source)
      for layer in 0..<architecture.layerCount {
        let fromRegistry = try DenseFFN(architecture.layer(layer, in: source))
        let own = runnerFFN(layer)
        #expect(fromRegistry.form == own.form && fromRegistry.activation == own.activation)
        let x = random.values(5 * own.hiddenSize, scale: 1)
        let comparison = Comparison(
          try fromRegistry.forward(x, tokens: 5), try own.forward(x, tokens: 5))
        #expect(comparison.maxAbs <= 1e-5, "\(source.path) layer \(layer): \(comparison)")
      }
    }
  }
}
