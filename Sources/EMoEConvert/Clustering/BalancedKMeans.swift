import Dispatch
import EMoENumerics

/// Balanced k-means over FFN keys: L2-normalised keys split into experts of exactly equal size
/// (or sizes ⌊n/E⌋ and ⌈n/E⌉), minimising the sum of squared distances to the cluster means.
///
/// Each restart seeds with greedy k-means++, then alternates an exact balanced assignment step
/// (``BalancedAssignment``, minimising squared distances) with mean updates until the
/// assignment stops changing; a local-improvement pass then applies pairwise swaps between
/// clusters that lower the SSE once the means move, and Lloyd resumes, until neither helps. The
/// best restart wins. Distances come from one F32 GEMM per iteration (for unit keys
/// `‖x − c‖² = 1 + ‖c‖² − 2 x·c`). Results depend only on the keys, the options and the seed,
/// not on the number of threads.
public struct BalancedKMeans: Sendable {
  /// Settings of a fit.
  public struct Options: Sendable, Hashable {
    /// The number of experts E.
    public var experts: Int
    /// Whether n need not be a multiple of E (sizes ⌊n/E⌋ and ⌈n/E⌉).
    public var allowUneven: Bool
    /// Independent restarts; `nil` picks by size (see ``defaultRestarts(keys:dimension:experts:)``).
    public var restarts: Int?
    /// The cap on Lloyd iterations per restart.
    public var maxIterations: Int
    /// The seed of all random choices.
    public var seed: UInt64
    /// Whether to run the pairwise-swap local improvement.
    public var localImprovement: Bool

    /// Creates options with the defaults: automatic restarts, at most 300 iterations, seed 0,
    /// local improvement on.
    public init(
      experts: Int, allowUneven: Bool = false, restarts: Int? = nil, maxIterations: Int = 300,
      seed: UInt64 = 0, localImprovement: Bool = true
    ) {
      self.experts = experts
      self.allowUneven = allowUneven
      self.restarts = restarts
      self.maxIterations = maxIterations
      self.seed = seed
      self.localImprovement = localImprovement
    }
  }

  /// The settings.
  public var options: Options

  /// Creates a clusterer.
  public init(options: Options) { self.options = options }

  /// The default number of restarts for a layer, by the multiply-adds of one Lloyd
  /// iteration's distance GEMM (n·d·E), chosen by measurement (docs/benchmarks.md): 100 up to
  /// 2²¹ (tiny layers, where local optima differ most and a restart costs milliseconds), 10 up to
  /// 2²⁸ (BERT-base, MiniLM and SmolLM2-sized layers), 3 up to 2³¹, then 1 (a LLaMA-7B layer with
  /// E = 64 is 2.9·10⁹).
  public static func defaultRestarts(keys: Int, dimension: Int, experts: Int) -> Int {
    let work = Double(keys) * Double(dimension) * Double(experts)
    if work <= 2_097_152 { return 100 }
    if work <= 268_435_456 { return 10 }
    if work <= 2_147_483_648 { return 3 }
    return 1
  }

  /// Clusters `count` keys of `dimension` floats each (`keys` row-major, `count × dimension`).
  ///
  /// - Throws: ``ClusteringError`` for a wrong buffer size, an expert count outside
  ///   `1...count`, a count not divisible by the expert count (unless uneven sizes are allowed),
  ///   or a key holding NaN or infinity.
  public func fit(keys: [Float], count: Int, dimension: Int) throws(ClusteringError) -> Clustering {
    let outcome = keys.withUnsafeBufferPointer { buffer in
      Result { () throws(ClusteringError) in
        try fit(keys: buffer, count: count, dimension: dimension)
      }
    }
    return try outcome.get()
  }

  /// Clusters keys read from a buffer (see ``fit(keys:count:dimension:)``).
  public func fit(keys: UnsafeBufferPointer<Float>, count: Int, dimension: Int)
    throws(ClusteringError) -> Clustering
  {
    let started = ContinuousClock.now
    let experts = options.experts
    guard count > 0, dimension > 0,
      count.multipliedReportingOverflow(by: dimension).partialValue == keys.count,
      !count.multipliedReportingOverflow(by: dimension).overflow
    else {
      throw .badKeyShape(values: keys.count, count: count, dimension: dimension)
    }
    guard experts >= 1, experts <= count else {
      throw .expertCountOutOfRange(experts: experts, keys: count)
    }
    guard count % experts == 0 || options.allowUneven else {
      throw .notDivisible(keys: count, experts: experts)
    }
    guard count <= Int(Int32.max), dimension <= Int(Int32.max),
      count.multipliedReportingOverflow(by: experts).partialValue <= Int(Int32.max)
    else {
      throw .tooLarge(keys: count, dimension: dimension)
    }
    let points = try NormalizedKeys(normalising: keys, count: count, dimension: dimension)
    let restarts = max(
      1,
      options.restarts
        ?? Self.defaultRestarts(keys: count, dimension: dimension, experts: experts))
    var best: RestartResult?
    var restartSSE: [Double] = []
    var totalIterations = 0
    for restart in 0..<restarts {
      var generator = SplitMix64.stream(seed: options.seed, index: restart)
      var run = LloydRun(points: points, experts: experts)
      run.seed(generator: &generator)
      let result = run.optimise(
        maxIterations: options.maxIterations, localImprovement: options.localImprovement)
      restartSSE.append(result.sse)
      totalIterations += result.iterations
      if best == nil || result.sse < best!.sse { best = result }
    }
    let chosen = best!
    let bestRestart = restartSSE.firstIndex(of: chosen.sse) ?? 0
    var clustering = Self.canonical(chosen, points: points, experts: experts)
    clustering.restartSSE = restartSSE
    clustering.bestRestart = bestRestart
    clustering.totalIterations = totalIterations
    let elapsed = ContinuousClock.now - started
    clustering.seconds =
      Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    return clustering
  }

  /// Renumbers experts by their smallest key (so labels do not depend on how the clustering
  /// happened to name them) and recomputes the means and, directly from the distances, the SSE
  /// in Double.
  private static func canonical(_ result: RestartResult, points: NormalizedKeys, experts: Int)
    -> Clustering
  {
    var renumber = [Int32](repeating: -1, count: experts)
    var next: Int32 = 0
    for cluster in result.assignment where renumber[Int(cluster)] < 0 {
      renumber[Int(cluster)] = next
      next += 1
    }
    var run = LloydRun(points: points, experts: experts)
    run.assignment = result.assignment.map { renumber[Int($0)] }
    let d = points.dimension
    for cluster in 0..<experts {
      let target = Int(renumber[cluster])
      for column in 0..<d {
        run.centroids[target * d + column] = result.centroids[cluster * d + column]
      }
    }
    let sse = run.directSSE()
    var sizes = [Int](repeating: 0, count: experts)
    for cluster in run.assignment { sizes[Int(cluster)] += 1 }
    return Clustering(
      assignment: run.assignment.map(Int.init), experts: experts, sizes: sizes,
      centroids: run.centroids, sse: sse, iterations: result.iterations,
      totalIterations: result.iterations, swaps: result.swaps, restartSSE: [], bestRestart: 0,
      seconds: 0)
  }
}

/// What one restart reached.
struct RestartResult {
  var assignment: [Int32]
  /// The means of the assignment, `experts × dimension`.
  var centroids: [Float]
  var sse: Double
  var iterations: Int
  var swaps: Int
}
