import Dispatch

extension LloydRun {
  /// One improving exchange: point `first` (in cluster `from`) and `second` (in `to`) trade
  /// places, changing the SSE by `change` once both means move.
  struct Swap {
    var change: Double
    var first: Int32
    var second: Int32
    var from: Int
    var to: Int
  }

  /// Swaps kept per cluster pair by the search; the rest are found again in the next round.
  static let swapsPerPair = 4

  /// Applies pairwise swaps between clusters that lower the SSE; returns how many.
  ///
  /// Searches every pair of clusters for swaps that lower the SSE (counting the moves of both
  /// means), then applies them best first, re-checking each against the means as they move.
  /// Needs ``cost`` to match the centroids and the centroids to be the means. Returns the number
  /// applied; the centroids are left as exact means again.
  ///
  /// For i in a and j in b, with g_i(b) = ‖x_i − c_b‖² − ‖x_i − c_a‖², the exact change is
  /// `g_i(b) + g_j(a) − ‖x_i − x_j‖² (1/|a| + 1/|b|)`. Since ‖x_i − x_j‖ ≤ ‖x_i − c‖ + ‖x_j − c‖
  /// for either centre c, only pairs with a small `g_i(b) + g_j(a)` need the distance itself.
  mutating func applyImprovingSwaps() -> Int {
    let e = experts
    guard e >= 2 else { return 0 }
    let lists = members()
    var found = [[Swap]](repeating: [], count: e)
    let keys = points
    cost.withUnsafeBufferPointer { costs in
      nonisolated(unsafe) let cost = costs
      found.withUnsafeMutableBufferPointer { results in
        nonisolated(unsafe) let output = results
        DispatchQueue.concurrentPerform(iterations: e) { a in
          output[a] = Self.searchSwaps(from: a, lists: lists, cost: cost, keys: keys, experts: e)
        }
      }
    }
    var candidates = found.flatMap { $0 }
    candidates.sort {
      ($0.change, $0.from, $0.to, $0.first, $0.second)
        < ($1.change, $1.from, $1.to, $1.first, $1.second)
    }
    var sizes = [Int](repeating: 0, count: e)
    for list in lists.indices { sizes[list] = lists[list].count }
    let d = points.dimension
    var applied = 0
    var difference = [Float](repeating: 0, count: d)
    for swap in candidates {
      let i = Int(swap.first)
      let j = Int(swap.second)
      guard Int(assignment[i]) == swap.from, Int(assignment[j]) == swap.to else { continue }
      let weightA = 1 / Float(sizes[swap.from])
      let weightB = 1 / Float(sizes[swap.to])
      // Exact change against the current means: 2 u·(c_a − c_b) − ‖u‖² (1/|a| + 1/|b|), u = x_i − x_j.
      var along = 0.0
      var length = 0.0
      points.values.withUnsafeBufferPointer { x in
        for column in 0..<d {
          let u = x[i * d + column] - x[j * d + column]
          difference[column] = u
          along +=
            Double(u) * Double(centroids[swap.from * d + column] - centroids[swap.to * d + column])
          length += Double(u) * Double(u)
        }
      }
      let change = 2 * along - length * Double(weightA + weightB)
      guard change < -1e-9 else { continue }
      for column in 0..<d {
        centroids[swap.from * d + column] -= difference[column] * weightA
        centroids[swap.to * d + column] += difference[column] * weightB
      }
      assignment[i] = Int32(swap.to)
      assignment[j] = Int32(swap.from)
      applied += 1
    }
    if applied > 0 { updateCentroids() }
    return applied
  }

  /// The best improving swaps between cluster `a` and each cluster `b > a`.
  private static func searchSwaps(
    from a: Int, lists: [[Int32]], cost: UnsafeBufferPointer<Float>, keys: NormalizedKeys,
    experts e: Int
  ) -> [Swap] {
    struct Side {
      var gain: Double
      var point: Int32
      var toOwn: Double
      var toOther: Double
    }
    var result: [Swap] = []
    let membersA = lists[a]
    guard !membersA.isEmpty else { return result }
    let norms = keys.squaredNorms
    var sideA: [Side] = []
    var sideB: [Side] = []
    var best: [Swap] = []
    keys.values.withUnsafeBufferPointer { x in
      for b in (a + 1)..<e {
        let membersB = lists[b]
        guard !membersB.isEmpty else { continue }
        let weight = 1 / Double(membersA.count) + 1 / Double(membersB.count)
        sideA.removeAll(keepingCapacity: true)
        sideB.removeAll(keepingCapacity: true)
        // Distances to the centres: ‖x − c‖² = ‖x‖² + cost.
        func side(_ point: Int32, own: Int, other: Int) -> Side {
          let row = Int(point) * e
          let norm = Double(norms[Int(point)])
          let toOwn = max(0, norm + Double(cost[row + own])).squareRoot()
          let toOther = max(0, norm + Double(cost[row + other])).squareRoot()
          return Side(
            gain: Double(cost[row + other]) - Double(cost[row + own]), point: point, toOwn: toOwn,
            toOther: toOther)
        }
        var farthestA = (own: 0.0, other: 0.0)
        var farthestB = (own: 0.0, other: 0.0)
        var lowestA = Double.infinity
        var lowestB = Double.infinity
        for point in membersA {
          let entry = side(point, own: a, other: b)
          farthestA = (max(farthestA.own, entry.toOwn), max(farthestA.other, entry.toOther))
          lowestA = min(lowestA, entry.gain)
          sideA.append(entry)
        }
        for point in membersB {
          let entry = side(point, own: b, other: a)
          farthestB = (max(farthestB.own, entry.toOwn), max(farthestB.other, entry.toOther))
          lowestB = min(lowestB, entry.gain)
          sideB.append(entry)
        }
        // ‖x_i − x_j‖ ≤ min(‖x_i − c_a‖ + ‖x_j − c_a‖, ‖x_i − c_b‖ + ‖x_j − c_b‖).
        func reach(_ i: Side, _ j: Side) -> Double {
          let viaA = i.toOwn + j.toOther
          let viaB = i.toOther + j.toOwn
          return weight * min(viaA * viaA, viaB * viaB)
        }
        let loose = Side(gain: 0, point: 0, toOwn: farthestB.other, toOther: farthestB.own)
        let looseA = Side(gain: 0, point: 0, toOwn: farthestA.own, toOther: farthestA.other)
        sideA.removeAll { $0.gain + lowestB >= reach($0, loose) }
        guard !sideA.isEmpty else { continue }
        sideB.removeAll { lowestA + $0.gain >= reach(looseA, $0) }
        guard !sideB.isEmpty else { continue }
        sideA.sort { ($0.gain, $0.point) < ($1.gain, $1.point) }
        sideB.sort { ($0.gain, $0.point) < ($1.gain, $1.point) }
        best.removeAll(keepingCapacity: true)
        for i in sideA {
          let limit = reach(i, loose)
          for j in sideB {
            let base = i.gain + j.gain
            if base >= limit { break }
            if base >= reach(i, j) { continue }
            let dot = Self.dot(x, keys, Int(i.point), Int(j.point))
            let distance = max(
              0, Double(norms[Int(i.point)]) + Double(norms[Int(j.point)]) - 2 * dot)
            let change = base - distance * weight
            if change < -1e-9 {
              best.append(Swap(change: change, first: i.point, second: j.point, from: a, to: b))
            }
          }
        }
        if best.count > swapsPerPair {
          best.sort { ($0.change, $0.first, $0.second) < ($1.change, $1.first, $1.second) }
          best.removeLast(best.count - swapsPerPair)
        }
        result.append(contentsOf: best)
      }
    }
    return result
  }

  /// The dot product of keys `first` and `second`: a Gram-matrix lookup, or computed.
  @inline(__always)
  static func dot(
    _ x: UnsafeBufferPointer<Float>, _ keys: NormalizedKeys, _ first: Int, _ second: Int
  )
    -> Double
  {
    if let gram = keys.gram { return Double(gram[first * keys.count + second]) }
    let count = keys.dimension
    var lanes = SIMD8<Float>()
    var column = 0
    let base = x.baseAddress!
    let left = base + first * count
    let right = base + second * count
    while column + 8 <= count {
      lanes +=
        UnsafeRawPointer(left + column).loadUnaligned(as: SIMD8<Float>.self)
        * UnsafeRawPointer(right + column).loadUnaligned(as: SIMD8<Float>.self)
      column += 8
    }
    var sum = Double(lanes.sum())
    while column < count {
      sum += Double(left[column]) * Double(right[column])
      column += 1
    }
    return sum
  }
}
