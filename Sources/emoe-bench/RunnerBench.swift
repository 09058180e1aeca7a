import EMoECore
import EMoENumerics
import EMoERunner

/// The sparse EMoE FFN against the dense FFN on one LLaMA-7B-shaped SwiGLU layer; prints one
/// JSON object per measurement.
///
///     emoe-bench runner [--tokens 512] [--hidden 4096] [--intermediate 11008] [--experts 64]
///                       [--top-k 8,16,32,64] [--runs 3]
///
/// Weights and inputs are uniform random F32 (fixed seed); experts are equal contiguous blocks
/// and the router is EMoE's average-key gate, so routing is as uneven as random keys make it.
/// Every case runs once as a warm-up, then `--runs` rounds run all cases in turn and each case
/// reports its best time (so load from other processes hits every case alike). Cases:
/// - `sgemm`: one bare `BLAS.sgemm` of `[tokens, d] × [d, n]`, the physical floor of one of the
///   three FFN products (the dense FFN's floor is three of these);
/// - `dense`: ``DenseFFN`` on the source layout (Hugging Face `[out, in]` matrices);
/// - `dense_canonical`: ``ExpertFFN/forwardDense(_:tokens:into:)`` on the EMoE layout;
/// - `masked`: the masked reference at the middle k;
/// - `sparse`: ``ExpertFFN`` on the sparse path at every k, routing included.
enum RunnerBench {
  static func run(tokens: Int, d: Int, n: Int, experts: Int, runs: Int, topKs: [Int]) throws {
    guard n % experts == 0, topKs.allSatisfy({ (1...experts).contains($0) }) else {
      print("{\"benchmark\": \"runner\", \"error\": \"n must be a multiple of E and 1 <= k <= E\"}")
      return
    }

    var random = UniformGenerator(state: 2024)
    let scaleIn = 1 / Float(d).squareRoot()
    let gate = random.values(n * d, scale: scaleIn)
    let up = random.values(n * d, scale: scaleIn)
    let downTransposed = random.values(n * d, scale: 1 / Float(n).squareRoot())
    var down = [Float](repeating: 0, count: n * d)
    for neuron in 0..<n {
      for column in 0..<d { down[column * n + neuron] = downTransposed[neuron * d + column] }
    }
    let x = random.values(tokens * d, scale: 1)
    let size = n / experts
    var averages = [Float](repeating: 0, count: experts * d)
    for expert in 0..<experts {
      for row in (expert * size)..<((expert + 1) * size) {
        for column in 0..<d {
          averages[expert * d + column] += gate[row * d + column] / Float(size)
        }
      }
    }
    let dense = try DenseFFN(
      form: .gated, activation: .silu,
      gate: LinearWeights(values: gate, inputs: d, outputs: n),
      up: LinearWeights(values: up, inputs: d, outputs: n),
      down: LinearWeights(values: down, inputs: n, outputs: d))
    let weights = try ExpertFFNWeights(
      form: .gated, activation: .silu, expertBoundaries: (0...experts).map { $0 * size },
      gate: EncodedRows(name: "gate", rows: n, columns: d, float32: gate),
      up: EncodedRows(name: "up", rows: n, columns: d, float32: up),
      downTransposed: EncodedRows(name: "down", rows: n, columns: d, float32: downTransposed),
      router: ExpertRouter(weights: averages, expertCount: experts, hiddenSize: d))

    var output = [Float](repeating: 0, count: tokens * d)
    var product = [Float](repeating: 0, count: tokens * n)
    let flopsPerProduct = 2.0 * Double(tokens) * Double(d) * Double(n)
    let shape =
      "\"tokens\": \(tokens), \"hidden\": \(d), \"intermediate\": \(n), "
      + "\"experts\": \(experts), \"threads\": \(BLAS.threadCount)"

    // Every case is a closure; rounds run them all in turn and keep each one's best time, so
    // load from other processes on a shared machine hits every case alike.
    var cases: [(name: String, k: Int?, flops: Double, busiest: Int?, body: () -> Void)] = []
    cases.append(
      (
        "sgemm", nil, flopsPerProduct, nil,
        {
          up.withUnsafeBufferPointer { w in
            x.withUnsafeBufferPointer { input in
              product.withUnsafeMutableBufferPointer { c in
                BLAS.sgemm(
                  .none, .transposed, m: tokens, n: n, k: d, a: input.baseAddress!, lda: d,
                  b: w.baseAddress!, ldb: d, c: c.baseAddress!, ldc: n)
              }
            }
          }
        }
      ))
    cases.append(
      (
        "dense", nil, 3 * flopsPerProduct, nil,
        {
          x.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { y in
              dense.forward(input.baseAddress!, tokens: tokens, into: y.baseAddress!)
            }
          }
        }
      ))
    let canonical = try ExpertFFN(weights: weights, topK: experts)
    cases.append(
      (
        "dense_canonical", nil, 3 * flopsPerProduct, nil,
        {
          x.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { y in
              canonical.forwardDense(input.baseAddress!, tokens: tokens, into: y.baseAddress!)
            }
          }
        }
      ))
    let middle = topKs[(topKs.count - 1) / 2]
    for (path, ks) in [(ExpertFFN.Path.masked, [middle]), (.sparse, topKs)] {
      for k in ks {
        let runner = try ExpertFFN(weights: weights, topK: k, path: path)
        let routing = x.withUnsafeBufferPointer { runner.route($0.baseAddress!, tokens: tokens) }
        let busiest = routing.groupedByExpert().offsets.adjacentDifferences.max() ?? 0
        let useful = 3 * flopsPerProduct * Double(k) / Double(experts)
        cases.append(
          (
            path.rawValue, k, path == .masked ? 3 * flopsPerProduct : useful, busiest,
            {
              x.withUnsafeBufferPointer { input in
                output.withUnsafeMutableBufferPointer { y in
                  runner.forward(input.baseAddress!, tokens: tokens, into: y.baseAddress!)
                }
              }
            }
          ))
      }
    }
    for entry in cases { entry.body() }  // warm-up
    var best = [Double](repeating: .infinity, count: cases.count)
    let clock = ContinuousClock()
    for _ in 0..<runs {
      for (index, entry) in cases.enumerated() {
        let elapsed = clock.measure(entry.body)
        let seconds =
          Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        best[index] = min(best[index], seconds)
      }
    }
    let denseSeconds = best[1]
    for (index, entry) in cases.enumerated() {
      var fields = [
        "\"case\": \"\(entry.name)\"", "\"seconds\": \(format(best[index]))",
        "\"gflops\": \(format(entry.flops / best[index] / 1e9))",
      ]
      if let k = entry.k { fields.append("\"k\": \(k)") }
      if index > 0 { fields.append("\"speedup_vs_dense\": \(format(denseSeconds / best[index]))") }
      if index == 1 { fields.append("\"floor_seconds\": \(format(3 * best[0]))") }
      if let busiest = entry.busiest { fields.append("\"busiest_expert_tokens\": \(busiest)") }
      print("{\"benchmark\": \"runner\", " + fields.joined(separator: ", ") + ", " + shape + "}")
    }
  }

  static func format(_ value: Double) -> String {
    let scaled = (value * 10000).rounded() / 10000
    return "\(scaled)"
  }

  /// SplitMix64 mapped to uniform floats in `[-scale, scale]`.
  struct UniformGenerator {
    var state: UInt64

    mutating func values(_ count: Int, scale: Float) -> [Float] {
      var result = [Float](repeating: 0, count: count)
      for index in 0..<count {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        result[index] = (Float(z >> 40) / Float(1 << 24) * 2 - 1) * scale
      }
      return result
    }
  }
}

extension Array where Element == Int {
  /// The differences of neighbouring elements.
  fileprivate var adjacentDifferences: [Int] { zip(dropFirst(), self).map { $0 - $1 } }
}
