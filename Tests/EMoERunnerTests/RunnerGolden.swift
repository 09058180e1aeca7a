import EMoETestSupport

/// The PyTorch golden outputs of Fixtures/runner_golden (made by hand with
/// Fixtures/scripts/golden_runner.py; float64 transformers runs).
struct RunnerGolden: Decodable {
  struct Tolerance: Decodable {
    var max_abs: Float?
    var hidden_max_abs_relative: Float?
    var min_row_cosine: Double
    var logits_max_abs: Float?
    var min_logit_cosine: Double?
  }

  struct Model: Decodable {
    var name: String
    var kind: String
    var source: String
    var tokens: [Int]
    var vocabulary: Int?
    var hidden: GoldenFiles.Array32
    var last_logits: GoldenFiles.Array32?
    var top_logit_values: GoldenFiles.Array32?
    var top_logit_indices: GoldenFiles.Array32?
    var tolerance: Tolerance
  }

  var models: [Model]

  static let directory = TestPaths.fixtures + "/runner_golden"

  static func model(_ name: String) throws -> Model? {
    try GoldenFiles.index(RunnerGolden.self, at: directory + "/index.json").models.first {
      $0.name == name
    }
  }

  static func floats(_ array: GoldenFiles.Array32) throws -> [Float] {
    try GoldenFiles.floats(array, in: directory)
  }

  /// The values of a raw little-endian I32 file.
  static func integers(_ array: GoldenFiles.Array32) throws -> [Int] {
    try GoldenFiles.floats(array, in: directory).map { Int(Int32(bitPattern: $0.bitPattern)) }
  }
}

/// Row-by-row comparison of two `[rows, columns]` matrices.
struct RowComparison {
  var maxAbs: Float = 0
  var referenceMax: Float = 0
  var minCosine = 1.0

  init(_ actual: [Float], _ expected: [Float], columns: Int) {
    precondition(actual.count == expected.count && expected.count % columns == 0)
    for row in 0..<(expected.count / columns) {
      let range = (row * columns)..<((row + 1) * columns)
      let comparison = Comparison(Array(actual[range]), Array(expected[range]))
      maxAbs = max(maxAbs, comparison.maxAbs)
      referenceMax = max(referenceMax, comparison.referenceMax)
      minCosine = min(minCosine, comparison.cosine)
    }
  }
}
