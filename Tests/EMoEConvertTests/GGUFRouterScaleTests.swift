import EMoEConvert
import EMoECore
import EMoEFormats
import EMoENumerics
import EMoETestSupport
import Foundation
import Testing

/// ``GGUFRouterScale``: the score bound B holds on real SmolLM2 layers for sampled inputs and is
/// reached by the worst-case input, the scale is the largest power of two keeping `s · B ≤ 1/64`,
/// llama.cpp's weights stay within the stated error, and the GGUF export writes `s · G` and the
/// `emoe.router_scale` / `emoe.weighting_bound` keys.
@Suite("GGUF router scale: the weighting bound on real layers")
struct GGUFRouterScaleTests {
  /// `R · (γ ⊙ x)` in float64 for every expert.
  static func scores(_ router: [Float], _ norm: [Float], _ x: [Double]) -> [Double] {
    let d = norm.count
    return (0..<(router.count / d)).map { e in
      (0..<d).reduce(0.0) { $0 + Double(router[e * d + $1]) * Double(norm[$1]) * x[$1] }
    }
  }

  /// A standard-normal vector of length `d` scaled to norm √d (an RMSNorm output before γ).
  static func unitInput(_ d: Int, _ generator: inout SplitMix64) -> [Double] {
    var x = (0..<d).map { _ in
      // Box–Muller from two uniforms in (0, 1].
      let u = Double(generator.next() >> 11 + 1) / 0x1p53
      let v = Double(generator.next() >> 11) / 0x1p53
      return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }
    let norm = x.reduce(0) { $0 + $1 * $1 }.squareRoot()
    x = x.map { $0 * Double(d).squareRoot() / norm }
    return x
  }

  @Test("a synthetic router: power of two, largest allowed, weights within the bound")
  func synthetic() throws {
    let d = 8
    let experts = 6
    var generator = SplitMix64(seed: 7)
    let router = (0..<(experts * d)).map { _ in Float(Int(generator.next() % 2001) - 1000) / 100 }
    let norm = (0..<d).map { Float($0 + 1) / 4 }
    let scale = try #require(GGUFRouterScale(router: router, experts: experts, norm: norm))
    let exponent = Float(scale.scale).exponent
    #expect(scale.scale == Float(sign: .plus, exponent: exponent, significand: 1))
    #expect(scale.spread <= GGUFRouterScale.maximumSpread)
    #expect(2 * scale.spread > GGUFRouterScale.maximumSpread)
    for k in [2, 5] {
      let bound = scale.weightingError(topK: k)
      #expect(bound > 0 && bound < exp(1.0 / 64) - 1 + 1e-12)
      for _ in 0..<200 {
        let logits = Self.scores(router, norm, Self.unitInput(d, &generator)).map {
          $0 * Double(scale.scale)
        }
        for (_, weight) in GGUFRouterScale.llamaWeights(logits: logits, topK: k) {
          #expect(abs(weight - 1) <= bound * (1 + 1e-9))
        }
      }
    }
    #expect(
      GGUFRouterScale(router: [.nan] + router.dropFirst(), experts: experts, norm: norm) == nil)
    // Equal rows: no spread, no scaling.
    #expect(
      GGUFRouterScale(router: [Float](repeating: 1, count: 12), experts: 3, norm: [1, 2, 3, 4])?
        .scale == 1)
  }

  @Test(
    "SmolLM2 layers: B bounds sampled score spreads and is reached; export writes s · G",
    .enabled(if: Oracles.smolLM2))
  func smolLM2() throws {
    let model = try #require(try TestPaths.smolLM2())
    let directory = try TemporaryDirectory()
    let (path, _) = try ConvertTestSupport.convert(
      model, ConversionOptions(experts: 16, layers: "20,29", restarts: 1), into: directory)
    let container = try ContainerFile(path: path)
    var generator = SplitMix64(seed: 11)
    var scales: [Float] = []
    for record in container.layers {
      let router = try Dequantizer.floats(
        of: container.storedTensor(named: try #require(record.tensors[.router])))
      let norm = try Dequantizer.floats(
        of: container.storedTensor(named: "blk.\(record.layer).ffn_norm.weight"))
      let d = norm.count
      let scale = try #require(GGUFRouterScale(router: router, experts: 16, norm: norm))
      scales.append(scale.scale)
      var largest = 0.0
      for _ in 0..<300 {
        let scores = Self.scores(router, norm, Self.unitInput(d, &generator))
        largest = max(largest, scores.max()! - scores.min()!)
        let logits = scores.map { $0 * Double(scale.scale) }
        for (_, weight) in GGUFRouterScale.llamaWeights(logits: logits, topK: 15) {
          #expect(abs(weight - 1) <= scale.weightingError(topK: 15))
        }
      }
      #expect(largest <= scale.scoreBound)
      // The worst case: x along (G_a − G_b) ⊙ γ of the farthest pair reaches B.
      var best = (0, 0, 0.0)
      for a in 0..<16 {
        for b in (a + 1)..<16 {
          let squares = (0..<d).reduce(0.0) {
            let v = (Double(router[a * d + $1]) - Double(router[b * d + $1])) * Double(norm[$1])
            return $0 + v * v
          }
          if squares > best.2 { best = (a, b, squares) }
        }
      }
      let direction = (0..<d).map {
        (Double(router[best.0 * d + $0]) - Double(router[best.1 * d + $0])) * Double(norm[$0])
      }
      let x = direction.map { $0 * Double(d).squareRoot() / best.2.squareRoot() }
      let worst = Self.scores(router, norm, x)
      #expect(abs((worst[best.0] - worst[best.1]) - scale.scoreBound) <= 1e-9 * scale.scoreBound)
      #expect(scale.spread <= 1.0 / 64 && 2 * scale.spread > 1.0 / 64)
      print(
        "layer \(record.layer): B = \(scale.scoreBound), sampled spread \(largest), s = \(scale.scale)"
      )
    }
    // The export at k < E writes s · G bit for bit and records s and the bound.
    let output = directory.file("k15.gguf")
    try GGUFExport(container: container, expertsUsed: 15).write(to: output)
    let file = try GGUFFile(path: output)
    #expect(
      file.value(forKey: "emoe.router_scale")
        == .array(elementType: .float32, elements: scales.map { .float32($0) }))
    guard case .float32(let bound) = file.value(forKey: "emoe.weighting_bound") else {
      Issue.record("emoe.weighting_bound is missing")
      return
    }
    #expect(bound > 0 && Double(bound) < exp(1.0 / 64) - 1)
    for (record, scale) in zip(container.layers, scales) {
      let router = try Dequantizer.floats(
        of: container.storedTensor(named: try #require(record.tensors[.router])))
      let written = try Dequantizer.floats(
        of: file.tensor(named: "blk.\(record.layer).ffn_gate_inp.weight"))
      #expect(written == router.map { $0 * scale })
    }
  }
}
