import EMoENumerics
import EMoERunner
import EMoETestSupport
import Testing

/// The numpy golden data of Fixtures/ffn_golden (made by Fixtures/scripts/make_ffn_golden.py).
struct FFNGolden: Decodable {
  struct Route: Decodable {
    var k: Int
    var selected: [[Int]]
    var masked: GoldenFiles.Array32?
    var softmax: GoldenFiles.Array32?
  }

  struct Case: Decodable {
    var name: String
    var form: String
    var activation: String
    var layout: String
    var tokens: Int
    var hidden: Int
    var intermediate: Int
    var experts: Int
    var permutation: [Int]
    var boundaries: [Int]
    var x: GoldenFiles.Array32
    var source: [String: GoldenFiles.Array32]
    var gate: GoldenFiles.Array32
    var gate_bias: GoldenFiles.Array32?
    var dense: GoldenFiles.Array32
    var routes: [Route]
  }

  struct Ties: Decodable {
    var tokens: Int
    var hidden: Int
    var experts: Int
    var x: GoldenFiles.Array32
    var gate: GoldenFiles.Array32
    var routes: [Route]
  }

  struct Tolerance: Decodable {
    var max_abs: Float
  }

  var cases: [Case]
  var ties: Ties
  var tolerance: Tolerance

  static let directory = TestPaths.fixtures + "/ffn_golden"

  /// The largest absolute difference accepted against the float64 reference (index.json).
  static let tolerance: Float = (try? load().tolerance.max_abs) ?? 0

  static func load() throws -> FFNGolden {
    try GoldenFiles.index(FFNGolden.self, at: directory + "/index.json")
  }

  static func floats(_ array: GoldenFiles.Array32) throws -> [Float] {
    try GoldenFiles.floats(array, in: directory)
  }
}

extension FFNGolden.Case {
  /// The dense FFN in its source layout.
  func denseFFN() throws -> DenseFFN {
    let d = hidden
    let n = intermediate
    func array(_ key: String) throws -> [Float]? {
      try source[key].map(FFNGolden.floats)
    }
    let activation = try #require(Activation(huggingFaceName: self.activation))
    if form == "gated" {
      return try DenseFFN(
        form: .gated, activation: activation,
        gate: LinearWeights(values: try #require(try array("wg")), inputs: d, outputs: n),
        up: LinearWeights(values: try #require(try array("wu")), inputs: d, outputs: n),
        down: LinearWeights(values: try #require(try array("w2")), inputs: n, outputs: d))
    }
    let up: LinearWeights
    let down: LinearWeights
    if layout == "conv1d" {
      up = try LinearWeights(
        values: try #require(try array("c_fc")), inputs: d, outputs: n, layout: .inputMajor)
      down = try LinearWeights(
        values: try #require(try array("c_proj")), inputs: n, outputs: d, layout: .inputMajor)
    } else {
      up = try LinearWeights(values: try #require(try array("w1")), inputs: d, outputs: n)
      down = try LinearWeights(values: try #require(try array("w2")), inputs: n, outputs: d)
    }
    return try DenseFFN(
      form: .plain, activation: activation, up: up, down: down, upBias: try array("b1"),
      downBias: try array("b2"))
  }

  /// The golden router (numpy's average-key gate).
  func router() throws -> ExpertRouter {
    try ExpertRouter(
      weights: FFNGolden.floats(gate), expertCount: experts, hiddenSize: hidden,
      bias: try gate_bias.map(FFNGolden.floats))
  }

  /// The canonical EMoE layout of the dense FFN, rows encoded as `encoding`.
  func expertWeights(_ encoding: EncodedRows.Encoding = .f32) throws -> ExpertFFNWeights {
    try ExpertFFNWeights(
      permuting: denseFFN(), permutation: permutation, expertBoundaries: boundaries,
      encoding: encoding, router: router())
  }
}
