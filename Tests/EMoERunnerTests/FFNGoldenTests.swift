import EMoENumerics
import EMoERunner
import EMoETestSupport
import Testing

/// The FFN runner against the independent numpy reference of Fixtures/ffn_golden, for every
/// FFN family: dense on the source layout and on the canonical layout, the average-key gate,
/// top-k selections, and the masked and sparse EMoE outputs at several k.
@Suite("FFN runner against the numpy golden")
struct FFNGoldenTests {
  static let caseNames = (try? FFNGolden.load())?.cases.map(\.name) ?? []

  private func goldenCase(_ name: String) throws -> FFNGolden.Case {
    try #require(try FFNGolden.load().cases.first { $0.name == name })
  }

  @Test("the golden index loads and covers every FFN family")
  func goldenLoads() throws {
    let golden = try FFNGolden.load()
    let families = Set(golden.cases.map { "\($0.form)/\($0.activation)/\($0.layout)" })
    #expect(golden.cases.count == 6 && families.count == 6)
  }

  @Test("the dense FFN on its source layout matches numpy", arguments: caseNames)
  func denseSourceLayout(name: String) throws {
    let c = try goldenCase(name)
    let x = try FFNGolden.floats(c.x)
    let y = try c.denseFFN().forward(x, tokens: c.tokens)
    let comparison = Comparison(y, try FFNGolden.floats(c.dense))
    #expect(comparison.maxAbs <= FFNGolden.tolerance, "\(name): \(comparison)")
  }

  @Test("the dense FFN on the canonical EMoE layout matches numpy", arguments: caseNames)
  func denseCanonicalLayout(name: String) throws {
    let c = try goldenCase(name)
    let x = try FFNGolden.floats(c.x)
    let runner = try ExpertFFN(weights: c.expertWeights(), topK: c.experts)
    var y = [Float](repeating: 0, count: x.count)
    x.withUnsafeBufferPointer { input in
      y.withUnsafeMutableBufferPointer { output in
        runner.forwardDense(input.baseAddress!, tokens: c.tokens, into: output.baseAddress!)
      }
    }
    let comparison = Comparison(y, try FFNGolden.floats(c.dense))
    #expect(comparison.maxAbs <= FFNGolden.tolerance, "\(name): \(comparison)")
  }

  @Test("the average-key gate built from the dense FFN equals numpy's", arguments: caseNames)
  func averageKeyGate(name: String) throws {
    let c = try goldenCase(name)
    let weights = try ExpertFFNWeights(
      permuting: c.denseFFN(), permutation: c.permutation, expertBoundaries: c.boundaries,
      gateBias: c.gate_bias != nil)
    let gate = Comparison(weights.router.weights, try FFNGolden.floats(c.gate))
    #expect(gate.maxAbs <= 1e-7, "\(name) gate: \(gate)")
    if let bias = c.gate_bias {
      let comparison = Comparison(try #require(weights.router.bias), try FFNGolden.floats(bias))
      #expect(comparison.maxAbs <= 1e-7, "\(name) gate bias: \(comparison)")
    } else {
      #expect(weights.router.bias == nil)
    }
  }

  @Test("top-k selections, masked and sparse outputs match numpy at every k", arguments: caseNames)
  func expertOutputs(name: String) throws {
    let c = try goldenCase(name)
    let x = try FFNGolden.floats(c.x)
    let tolerance = FFNGolden.tolerance
    for route in c.routes {
      for combination in ExpertCombination.allCases {
        let reference: GoldenFiles.Array32? =
          combination == .unitWeights ? route.masked : route.softmax
        guard let reference else { continue }
        let expected = try FFNGolden.floats(reference)
        let runner = try ExpertFFN(
          weights: c.expertWeights(), topK: route.k, combination: combination)
        let outputs = try x.withUnsafeBufferPointer { input in
          let routing = runner.route(input.baseAddress!, tokens: c.tokens)
          let selected = (0..<c.tokens).map { Array(routing.experts(ofToken: $0)) }
          #expect(selected == route.selected, "\(name) k=\(route.k): selections differ")
          return try ExpertFFN.Path.allCases.map { path in
            var y = [Float](repeating: 0, count: x.count)
            try y.withUnsafeMutableBufferPointer { output in
              try runner.forward(
                input.baseAddress!, tokens: c.tokens, routing: routing, path: path,
                into: output.baseAddress!)
            }
            return y
          }
        }
        for (path, y) in zip(ExpertFFN.Path.allCases, outputs) {
          let comparison = Comparison(y, expected)
          #expect(
            comparison.maxAbs <= tolerance,
            "\(name) k=\(route.k) \(combination) \(path): \(comparison)")
        }
        let agreement = Comparison(outputs[0], outputs[1])
        #expect(agreement.maxAbs <= 1e-5, "\(name) k=\(route.k): sparse vs masked \(agreement)")
      }
    }
  }

  @Test("at k = E the masked and sparse outputs equal the dense FFN", arguments: caseNames)
  func fullTopKIsDense(name: String) throws {
    let c = try goldenCase(name)
    let x = try FFNGolden.floats(c.x)
    let dense = try c.denseFFN().forward(x, tokens: c.tokens)
    for path in ExpertFFN.Path.allCases {
      let runner = try ExpertFFN(weights: c.expertWeights(), topK: c.experts, path: path)
      let comparison = Comparison(try runner.forward(x, tokens: c.tokens), dense)
      #expect(comparison.maxAbs <= 1e-5, "\(name) \(path): \(comparison)")
    }
  }

  @Test("exact score ties go to the lower expert index, as in numpy")
  func ties() throws {
    let ties = try FFNGolden.load().ties
    let router = try ExpertRouter(
      weights: FFNGolden.floats(ties.gate), expertCount: ties.experts, hiddenSize: ties.hidden)
    let x = try FFNGolden.floats(ties.x)
    for route in ties.routes {
      let routing = try x.withUnsafeBufferPointer { input in
        try router.route(input.baseAddress!, tokens: ties.tokens, topK: route.k)
      }
      let selected = (0..<ties.tokens).map { Array(routing.experts(ofToken: $0)) }
      #expect(selected == route.selected, "k=\(route.k)")
    }
  }
}
