import EMoECore
import EMoENumerics
import EMoETestSupport
import Foundation
import Testing

@testable import EMoERunner

/// The EMoE FFN beyond the golden cases: quantised expert rows, determinism, and the errors
/// for inputs that do not fit.
@Suite("EMoE FFN: quantised experts, determinism, validation")
struct ExpertFFNTests {
  /// A reproducible pseudo-random generator (SplitMix64) for weights and inputs.
  struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }

    mutating func values(_ count: Int, scale: Float) -> [Float] {
      (0..<count).map { _ in Float.random(in: -scale...scale, using: &self) }
    }
  }

  /// A random LLaMA-style or BERT-style FFN of d = 64, n = 256, in canonical layout with
  /// E = 16 equal experts and the average-key gate.
  static func randomWeights(gated: Bool, encoding: EncodedRows.Encoding, seed: UInt64) throws
    -> ExpertFFNWeights
  {
    var random = SplitMix(state: seed)
    let d = 64
    let n = 256
    let dense: DenseFFN
    if gated {
      dense = try DenseFFN(
        form: .gated, activation: .silu,
        gate: LinearWeights(values: random.values(n * d, scale: 0.2), inputs: d, outputs: n),
        up: LinearWeights(values: random.values(n * d, scale: 0.2), inputs: d, outputs: n),
        down: LinearWeights(values: random.values(d * n, scale: 0.1), inputs: n, outputs: d))
    } else {
      dense = try DenseFFN(
        form: .plain, activation: .geluErf,
        up: LinearWeights(values: random.values(n * d, scale: 0.2), inputs: d, outputs: n),
        down: LinearWeights(values: random.values(d * n, scale: 0.1), inputs: n, outputs: d),
        upBias: random.values(n, scale: 0.1), downBias: random.values(d, scale: 0.1))
    }
    let permutation = Array((0..<n).shuffled(using: &random))
    return try ExpertFFNWeights(
      permuting: dense, permutation: permutation,
      expertBoundaries: stride(from: 0, through: n, by: 16).map { $0 },
      encoding: encoding)
  }

  static func output(_ runner: ExpertFFN, _ x: [Float], tokens: Int, path: ExpertFFN.Path)
    throws -> [Float]
  {
    try x.withUnsafeBufferPointer { input in
      let routing = runner.route(input.baseAddress!, tokens: tokens)
      var y = [Float](repeating: 0, count: x.count)
      try y.withUnsafeMutableBufferPointer { output in
        try runner.forward(
          input.baseAddress!, tokens: tokens, routing: routing, path: path,
          into: output.baseAddress!)
      }
      return y
    }
  }

  /// The bound on the relative error ‖y_q − y‖ / ‖y‖ of each row encoding against F32 rows.
  ///
  /// Measured
  /// errors here are F16 ≈ 3e-4, BF16 ≈ 2–3e-3, int8 and Q8_0 ≈ 5–7e-3 (uniform weights).
  static let bounds: [(EncodedRows.Encoding, Double)] = [
    (.f16, 1e-3), (.bf16, 1e-2), (.int8, 2e-2), (.q8_0, 2e-2),
  ]

  @Test(
    "quantised expert rows stay within their bound of F32, and masked equals sparse on them",
    arguments: [false, true])
  func quantisedExperts(gated: Bool) throws {
    var random = SplitMix(state: 99)
    let tokens = 24
    let x = random.values(tokens * 64, scale: 1)
    let reference = try Self.output(
      ExpertFFN(weights: Self.randomWeights(gated: gated, encoding: .f32, seed: 5), topK: 4), x,
      tokens: tokens, path: .sparse)
    for (encoding, bound) in Self.bounds {
      let runner = try ExpertFFN(
        weights: Self.randomWeights(gated: gated, encoding: encoding, seed: 5), topK: 4)
      let sparse = try Self.output(runner, x, tokens: tokens, path: .sparse)
      let masked = try Self.output(runner, x, tokens: tokens, path: .masked)
      var error = 0.0
      var norm = 0.0
      for (a, b) in zip(sparse, reference) {
        error += Double(a - b) * Double(a - b)
        norm += Double(b) * Double(b)
      }
      let relative = (error / norm).squareRoot()
      #expect(relative <= bound, "\(encoding) gated=\(gated): relative error \(relative)")
      #expect(relative > 0 || encoding == .f32, "\(encoding): rows were not quantised")
      let agreement = Comparison(sparse, masked)
      #expect(agreement.maxAbs <= 1e-5, "\(encoding) gated=\(gated): sparse vs masked \(agreement)")
    }
  }

  @Test("the same routing selects the same experts whatever the row encoding")
  func routingIndependentOfEncoding() throws {
    var random = SplitMix(state: 3)
    let x = random.values(8 * 64, scale: 1)
    let f32 = try ExpertFFN(
      weights: Self.randomWeights(gated: true, encoding: .f32, seed: 8), topK: 3)
    let q8 = try ExpertFFN(
      weights: Self.randomWeights(gated: true, encoding: .q8_0, seed: 8), topK: 3)
    x.withUnsafeBufferPointer { input in
      #expect(f32.route(input.baseAddress!, tokens: 8) == q8.route(input.baseAddress!, tokens: 8))
    }
  }

  @Test(
    "Q8_0 and int8 expert rows decode exactly as gguf-py and value = scale · q",
    .enabled(if: Oracles.python(["numpy", "gguf"])))
  func decodingMatchesOracle() throws {
    try PythonOracle.require(["numpy", "gguf"])
    var random = SplitMix(state: 11)
    let values = random.values(6 * 64, scale: 3)
    let rows = try values.withUnsafeBufferPointer {
      try EncodedRows.encode($0, rows: 6, columns: 64, as: .q8_0)
    }
    var decoded = [Float](repeating: 0, count: values.count)
    decoded.withUnsafeMutableBufferPointer { rows.decode(rows: 0..<6, into: $0.baseAddress!) }
    let directory = try TemporaryDirectory()
    let path = directory.file("rows.q8_0")
    try rows.data.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: path)) }
    let oracle = try PythonOracle.check(
      """
      import sys, numpy as np
      from gguf import quants, GGMLQuantizationType as T
      raw = np.fromfile(sys.argv[1], dtype=np.uint8).reshape(6, 68)
      print(" ".join(str(int(v)) for v in quants.dequantize(raw, T.Q8_0).astype(np.float32).view(np.uint32).ravel()))
      """, arguments: [path])
    let expected = oracle.split(separator: " ").map {
      Float(bitPattern: UInt32($0.trimmingCharacters(in: .whitespacesAndNewlines))!)
    }
    #expect(decoded.map(\.bitPattern) == expected.map(\.bitPattern))

    let int8 = try values.withUnsafeBufferPointer {
      try EncodedRows.encode($0, rows: 6, columns: 64, as: .int8)
    }
    var int8Decoded = [Float](repeating: 0, count: values.count)
    int8Decoded.withUnsafeMutableBufferPointer { int8.decode(rows: 2..<5, into: $0.baseAddress!) }
    int8.data.withUnsafeBytes { codes in
      int8.scales!.withUnsafeBytes { scales in
        for row in 2..<5 {
          let scale = scales.loadUnaligned(fromByteOffset: row * 4, as: Float.self)
          #expect(scale == values[(row * 64)..<(row * 64 + 64)].map(abs).max()! / 127)
          for column in 0..<64 {
            let q = Int8(bitPattern: codes[row * 64 + column])
            #expect(int8Decoded[(row - 2) * 64 + column] == scale * Float(q))
          }
        }
      }
    }
  }

  @Test(
    "results do not depend on the BLAS thread count", .serialized,
    arguments: ExpertFFN.Path.allCases)
  func deterministic(path: ExpertFFN.Path) throws {
    var random = SplitMix(state: 21)
    let tokens = 300
    let x = random.values(tokens * 64, scale: 1)
    let runner = try ExpertFFN(
      weights: Self.randomWeights(gated: true, encoding: .q8_0, seed: 2), topK: 5)
    let saved = BLAS.threadCount
    defer { BLAS.threadCount = saved }
    BLAS.threadCount = 1
    let single = try Self.output(runner, x, tokens: tokens, path: path)
    BLAS.threadCount = max(2, saved)
    let multiple = try Self.output(runner, x, tokens: tokens, path: path)
    let difference = BitDifference.between(single, multiple)
    #expect(difference == nil, "\(difference.map(String.init(describing:)) ?? "")")
  }

  /// A routing of `tokens` tokens over 16 experts, 4 each, with very uneven loads: every token
  /// uses expert 3, low indices are favoured, and a third of the weights are not 1.
  static func skewedRouting(tokens: Int, seed: UInt64) throws -> ExpertRouting {
    var random = SplitMix(state: seed)
    var selected: [Int] = []
    var weights: [Float] = []
    for _ in 0..<tokens {
      var choices = [3]
      while choices.count < 4 {
        let expert = min(
          Int.random(in: 0..<16, using: &random), Int.random(in: 0..<16, using: &random))
        if !choices.contains(expert) { choices.append(expert) }
      }
      selected += choices.shuffled(using: &random)
      weights += (0..<4).map { _ in
        Bool.random(using: &random) ? 1 : Float.random(in: 0.1...1, using: &random)
      }
    }
    return try ExpertRouting(
      selected: selected, weights: weights, tokens: tokens, expertCount: 16, topK: 4)
  }

  @Test(
    "the parallel sparse path gives the bits of one worker, in one wave or many",
    .serialized, arguments: [(true, EncodedRows.Encoding.q8_0), (false, .f32)])
  func parallelSparseDeterministic(gated: Bool, encoding: EncodedRows.Encoding) throws {
    var random = SplitMix(state: 77)
    let tokens = 300
    let x = random.values(tokens * 64, scale: 1)
    let runner = try ExpertFFN(
      weights: Self.randomWeights(gated: gated, encoding: encoding, seed: 4), topK: 4)
    let routing = try Self.skewedRouting(tokens: tokens, seed: 9)
    let loads = routing.groupedByExpert().offsets.adjacentDifferences
    #expect(loads.max() == tokens && loads.min()! < tokens / 8, "loads \(loads)")
    func run(threads: Int, outputBudget: Int, path: ExpertFFN.Path = .sparse) throws -> [Float] {
      BLAS.threadCount = threads
      var y = [Float](repeating: .nan, count: x.count)
      try x.withUnsafeBufferPointer { input in
        try y.withUnsafeMutableBufferPointer { output in
          if path == .sparse {
            runner.runSparse(
              input.baseAddress!, tokens: tokens, routing: routing, outputBudget: outputBudget,
              into: output.baseAddress!)
          } else {
            try runner.forward(
              input.baseAddress!, tokens: tokens, routing: routing, path: .masked,
              into: output.baseAddress!)
          }
        }
      }
      return y
    }
    let saved = BLAS.threadCount
    defer { BLAS.threadCount = saved }
    let reference = try run(threads: 1, outputBudget: ExpertFFN.sparseOutputBudget)
    // 500 rows of 64 values per wave: the 1200 expert rows take several waves.
    for threads in [1, 2, 3, 5] {
      for budget in [ExpertFFN.sparseOutputBudget, 500 * 64] {
        let difference = BitDifference.between(
          reference, try run(threads: threads, outputBudget: budget))
        #expect(
          difference == nil,
          "threads \(threads), budget \(budget): \(difference.map(String.init(describing:)) ?? "")")
      }
    }
    let agreement = Comparison(reference, try run(threads: 2, outputBudget: 0, path: .masked))
    #expect(agreement.maxAbs <= 1e-5, "sparse vs masked \(agreement)")

    // Fewer tokens than workers: 7 tokens on 5 workers leaves the last worker no tokens to add.
    let few = try Self.skewedRouting(tokens: 7, seed: 10)
    #expect(Set(few.selected).count >= 5, "\(few.selected)")
    var outputs: [[Float]] = []
    for threads in [1, 5] {
      BLAS.threadCount = threads
      var y = [Float](repeating: .nan, count: 7 * 64)
      try x.withUnsafeBufferPointer { input in
        try y.withUnsafeMutableBufferPointer { output in
          try runner.forward(
            input.baseAddress!, tokens: 7, routing: few, path: .sparse, into: output.baseAddress!)
        }
      }
      outputs.append(y)
    }
    #expect(BitDifference.between(outputs[0], outputs[1]) == nil)
  }

  @Test("inputs that do not fit are rejected with a readable error")
  func validation() throws {
    let weights = try Self.randomWeights(gated: false, encoding: .f32, seed: 1)
    #expect(throws: RunnerError.self) { try ExpertFFN(weights: weights, topK: 0) }
    #expect(throws: RunnerError.self) { try ExpertFFN(weights: weights, topK: 17) }
    #expect(throws: RunnerError.self) {
      try ExpertFFNWeights(
        form: .plain, activation: .relu, expertBoundaries: [0, 300, 256], gate: nil,
        up: weights.up, downTransposed: weights.downTransposed, router: weights.router)
    }
    #expect(throws: RunnerError.self) {
      try ExpertFFNWeights(
        form: .gated, activation: .silu, expertBoundaries: weights.expertBoundaries, gate: nil,
        up: weights.up, downTransposed: weights.downTransposed, router: weights.router)
    }
    #expect(throws: RunnerError.self) {
      try ExpertRouting(selected: [1, 1], weights: [1, 1], tokens: 1, expertCount: 4, topK: 2)
    }
    let error = #expect(throws: EncodedRowsError.self) {
      try EncodedRows(
        name: "blk.0.ffn_up", encoding: .q8_0, rows: 2, columns: 64, data: .owned([0, 1, 2]))
    }
    #expect(error?.description.contains("blk.0.ffn_up") == true)
    let runner = try ExpertFFN(weights: weights, topK: 2)
    let routing = try ExpertRouting.select(
      scores: [Float](repeating: 0, count: 3 * 16), tokens: 3, expertCount: 16, topK: 2)
    #expect(routing.selected == [0, 1, 0, 1, 0, 1])
    var y = [Float](repeating: 0, count: 4 * 64)
    let x = [Float](repeating: 0, count: 4 * 64)
    #expect(throws: RunnerError.self) {
      try x.withUnsafeBufferPointer { input in
        try y.withUnsafeMutableBufferPointer { output in
          try runner.forward(
            input.baseAddress!, tokens: 4, routing: routing, path: .sparse,
            into: output.baseAddress!)
        }
      }
    }
  }
}

extension Array where Element == Int {
  /// The differences of neighbouring elements.
  fileprivate var adjacentDifferences: [Int] { zip(dropFirst(), self).map { $0 - $1 } }
}
