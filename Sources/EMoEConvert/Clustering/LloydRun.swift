import Dispatch
import EMoECore
import EMoENumerics

/// One restart of balanced k-means: seeding, Lloyd iterations with an exact balanced
/// assignment step, and pairwise-swap local improvement.
struct LloydRun {
  let points: NormalizedKeys
  let experts: Int
  /// Cluster centres, `experts × dimension`.
  var centroids: [Float]
  /// The cluster of each point.
  var assignment: [Int32]
  /// `cost[i * experts + e] = ‖c_e‖² − 2 x_i·c_e` (the squared distance less ‖x_i‖²).
  var cost: [Float]
  var solver: BalancedAssignment

  /// Seeding looks at no more than this many keys (a random subset beyond it): at least 16 per
  /// expert and about 2²² values, so its E sequential passes stay cheap on LLaMA-sized layers
  /// and small layers are seeded from every key.
  static func seedingSampleLimit(experts: Int, dimension: Int) -> Int {
    max(16 * experts, 4_194_304 / max(1, dimension))
  }

  init(points: NormalizedKeys, experts: Int) {
    self.points = points
    self.experts = experts
    centroids = [Float](repeating: 0, count: experts * points.dimension)
    assignment = [Int32](repeating: 0, count: points.count)
    cost = [Float](repeating: 0, count: points.count * experts)
    solver = BalancedAssignment(pointCount: points.count, clusterCount: experts)
  }

  // MARK: Seeding

  /// Greedy k-means++ (as scikit-learn: 2 + ⌊ln E⌋ candidates per step, keep the one that
  /// lowers the potential most) over the keys or a random subset of them.
  mutating func seed(generator: inout SplitMix64) {
    let n = points.count
    let d = points.dimension
    let limit = Self.seedingSampleLimit(experts: experts, dimension: d)
    var sample: [Int]
    if n <= limit {
      sample = Array(0..<n)
    } else {
      var indices = Array(0..<n)
      for position in 0..<limit {
        let pick = position + generator.nextIndex(below: n - position)
        indices.swapAt(position, pick)
      }
      sample = Array(indices[0..<limit]).sorted()
    }
    let m = sample.count
    var rows = [Float](repeating: 0, count: m * d)
    var rowNorms = [Float](repeating: 0, count: m)
    points.values.withUnsafeBufferPointer { x in
      rows.withUnsafeMutableBufferPointer { out in
        for (slot, key) in sample.enumerated() {
          for column in 0..<d { out[slot * d + column] = x[key * d + column] }
          rowNorms[slot] = points.squaredNorms[key]
        }
      }
    }
    let trials = 2 + Int(log(Double(experts)))
    var closest = [Float](repeating: 0, count: m)
    var dots = [Float](repeating: 0, count: m * trials)
    var candidateDistances = [Float](repeating: 0, count: m * trials)
    var cumulative = [Double](repeating: 0, count: m)

    func copyCentre(_ slot: Int, to cluster: Int) {
      for column in 0..<d { centroids[cluster * d + column] = rows[slot * d + column] }
    }
    let first = generator.nextIndex(below: m)
    copyCentre(first, to: 0)
    distances(rows: rows, norms: rowNorms, m: m, to: [first], dots: &dots, out: &closest)
    var potential = closest.reduce(0.0) { $0 + Double($1) }

    for cluster in 1..<max(1, experts) {
      var running = 0.0
      for index in 0..<m {
        running += Double(closest[index])
        cumulative[index] = running
      }
      var candidates: [Int] = []
      for _ in 0..<trials {
        if potential <= 0 {
          candidates.append(generator.nextIndex(below: m))
          continue
        }
        let target = generator.nextUnit() * potential
        var low = 0
        var high = m - 1
        while low < high {
          let middle = (low + high) / 2
          if cumulative[middle] < target { low = middle + 1 } else { high = middle }
        }
        candidates.append(low)
      }
      distances(
        rows: rows, norms: rowNorms, m: m, to: candidates, dots: &dots, out: &candidateDistances)
      var bestTrial = 0
      var bestPotential = Double.infinity
      for t in 0..<trials {
        var sum = 0.0
        for index in 0..<m {
          sum += Double(min(closest[index], candidateDistances[index * trials + t]))
        }
        if sum < bestPotential {
          bestPotential = sum
          bestTrial = t
        }
      }
      for index in 0..<m {
        closest[index] = min(closest[index], candidateDistances[index * trials + bestTrial])
      }
      potential = bestPotential
      copyCentre(candidates[bestTrial], to: cluster)
    }
  }

  /// Squared distances of the `m` rows to the rows listed in `targets`, `m × targets.count`.
  private func distances(
    rows: [Float], norms: [Float], m: Int, to targets: [Int], dots: inout [Float],
    out: inout [Float]
  ) {
    let d = points.dimension
    let count = targets.count
    var targetRows = [Float](repeating: 0, count: count * d)
    for (t, slot) in targets.enumerated() {
      for column in 0..<d { targetRows[t * d + column] = rows[slot * d + column] }
    }
    rows.withUnsafeBufferPointer { a in
      targetRows.withUnsafeBufferPointer { b in
        dots.withUnsafeMutableBufferPointer { c in
          BLAS.sgemm(
            .none, .transposed, m: m, n: count, k: d, a: a.baseAddress!, lda: d,
            b: b.baseAddress!, ldb: d, c: c.baseAddress!, ldc: count)
        }
      }
    }
    for index in 0..<m {
      for t in 0..<count {
        let value = norms[index] + norms[targets[t]] - 2 * dots[index * count + t]
        out[index * count + t] = max(0, value)
      }
    }
  }

  // MARK: Lloyd

  /// Runs Lloyd iterations and local improvement; returns the restart's outcome.
  ///
  /// Local improvement stops when a round of swaps and the Lloyd iterations after it lower the
  /// SSE by less than ``improvementTolerance`` (relative), or after ``improvementRounds(keys:)``
  /// rounds.
  mutating func optimise(maxIterations: Int, localImprovement: Bool) -> RestartResult {
    var (iterations, sse) = lloyd(maxIterations: maxIterations, centroidsAreMeans: false)
    var swaps = 0
    if localImprovement {
      for _ in 0..<Self.improvementRounds(keys: points.count) {
        // After convergence the costs already match the centroids, which are the means.
        let applied = applyImprovingSwaps()
        if applied == 0 { break }
        swaps += applied
        let before = sse
        let (more, after) = lloyd(maxIterations: maxIterations, centroidsAreMeans: true)
        iterations += more
        sse = after
        if before - after < Self.improvementTolerance * before { break }
      }
    }
    return RestartResult(
      assignment: assignment, centroids: centroids, sse: sse, iterations: iterations, swaps: swaps)
  }

  /// The relative SSE gain below which another local-improvement round is not worth its cost.
  static let improvementTolerance = 1e-6

  /// The most local-improvement rounds for a layer of `keys` neurons.
  ///
  /// Without the Gram matrix (more than 4096 keys) one swap search costs far more than the whole
  /// Lloyd run: on a LLaMA-7B-shaped layer (11008 × 4096, E = 64) two rounds took 30 s against
  /// 0.56 s without them, for a 0.16 % lower SSE, and 200 rounds took 13 minutes. Such layers
  /// therefore skip local improvement.
  static func improvementRounds(keys: Int) -> Int { keys > 4096 ? 0 : 200 }

  /// Runs Lloyd iterations until the assignment repeats; returns the iterations and the SSE.
  ///
  /// Alternates balanced assignment and mean updates; leaves the centroids equal to the means
  /// of the assignment and ``cost`` computed from them.
  ///
  /// The assignment step runs the auction while many keys still move (the first iteration, or
  /// more than 1/64 of the keys changed last time) and otherwise improves the previous
  /// assignment by cycle cancelling alone, which is cheaper when few keys move.
  private mutating func lloyd(maxIterations: Int, centroidsAreMeans: Bool) -> (
    iterations: Int, sse: Double
  ) {
    var iterations = 0
    var sse = Double.infinity
    var meansCurrent = centroidsAreMeans
    var fresh = !centroidsAreMeans
    var changed = centroidsAreMeans ? 0 : points.count
    while iterations < maxIterations {
      computeCosts()
      let previous = assignment
      let useAuction = fresh || changed * 64 > points.count
      cost.withUnsafeBufferPointer {
        solver.solve(cost: $0, assignment: &assignment, auction: useAuction)
      }
      fresh = false
      iterations += 1
      changed = zip(previous, assignment).reduce(0) { $0 + ($1.0 == $1.1 ? 0 : 1) }
      if changed == 0 && meansCurrent { break }
      sse = updateCentroids()
      meansCurrent = true
    }
    if sse == .infinity { sse = updateCentroids() }
    return (iterations, sse)
  }

  /// `cost = ‖c‖² − 2 X·Cᵀ` through one GEMM.
  mutating func computeCosts() {
    let n = points.count
    let d = points.dimension
    let e = experts
    var centreNorms = [Float](repeating: 0, count: e)
    for cluster in 0..<e {
      var sum: Float = 0
      for column in 0..<d {
        let value = centroids[cluster * d + column]
        sum += value * value
      }
      centreNorms[cluster] = sum
    }
    points.values.withUnsafeBufferPointer { x in
      centroids.withUnsafeBufferPointer { c in
        cost.withUnsafeMutableBufferPointer { out in
          BLAS.sgemm(
            .none, .transposed, m: n, n: e, k: d, alpha: -2, a: x.baseAddress!, lda: d,
            b: c.baseAddress!, ldb: d, beta: 0, c: out.baseAddress!, ldc: e)
          for row in 0..<n {
            for cluster in 0..<e { out[row * e + cluster] += centreNorms[cluster] }
          }
        }
      }
    }
  }

  /// The members of each cluster, ascending.
  func members() -> [[Int32]] {
    var result = [[Int32]](repeating: [], count: experts)
    for (point, cluster) in assignment.enumerated() { result[Int(cluster)].append(Int32(point)) }
    return result
  }

  /// Sets each centroid to the mean of its members and returns the SSE of the assignment.
  ///
  /// Sums run in Double in member order, one cluster per task, so the result does not depend
  /// on the thread count; the SSE is `Σ‖x‖² − Σ_e |e| ‖m_e‖²` with the Double means m_e.
  @discardableResult
  mutating func updateCentroids() -> Double {
    let d = points.dimension
    let lists = members()
    let e = experts
    var perCluster = [Double](repeating: 0, count: e)
    centroids.withUnsafeMutableBufferPointer { out in
      nonisolated(unsafe) let target = out
      perCluster.withUnsafeMutableBufferPointer { results in
        nonisolated(unsafe) let output = results
        points.values.withUnsafeBufferPointer { x in
          nonisolated(unsafe) let source = x
          let norms = points.exactSquaredNorms
          DispatchQueue.concurrentPerform(iterations: e) { cluster in
            let list = lists[cluster]
            guard !list.isEmpty else { return }
            var sums = [Double](repeating: 0, count: d)
            var normSum = 0.0
            for point in list {
              let base = Int(point) * d
              normSum += norms[Int(point)]
              for column in 0..<d { sums[column] += Double(source[base + column]) }
            }
            let scale = 1 / Double(list.count)
            var meanNorm = 0.0
            for column in 0..<d {
              let mean = sums[column] * scale
              meanNorm += mean * mean
              target[cluster * d + column] = Float(mean)
            }
            output[cluster] = max(0, normSum - Double(list.count) * meanNorm)
          }
        }
      }
    }
    return perCluster.reduce(0, +)
  }

  /// The SSE of the current assignment summed from each key's distance to its Double mean (two
  /// passes, no cancellation), for the reported result.
  func directSSE() -> Double {
    let d = points.dimension
    let lists = members()
    var perCluster = [Double](repeating: 0, count: experts)
    perCluster.withUnsafeMutableBufferPointer { results in
      nonisolated(unsafe) let output = results
      points.values.withUnsafeBufferPointer { x in
        nonisolated(unsafe) let source = x
        DispatchQueue.concurrentPerform(iterations: experts) { cluster in
          let list = lists[cluster]
          guard !list.isEmpty else { return }
          var means = [Double](repeating: 0, count: d)
          for point in list {
            for column in 0..<d { means[column] += Double(source[Int(point) * d + column]) }
          }
          for column in 0..<d { means[column] /= Double(list.count) }
          var sum = 0.0
          for point in list {
            for column in 0..<d {
              let difference = Double(source[Int(point) * d + column]) - means[column]
              sum += difference * difference
            }
          }
          output[cluster] = sum
        }
      }
    }
    return perCluster.reduce(0, +)
  }
}
