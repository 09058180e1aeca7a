/// Assigns n points to E clusters of fixed sizes so that the total cost is minimal.
///
/// The cost of point i in cluster e is `cost[i * E + e]`; the clusters' sizes are given and sum
/// to n. A Gauss–Seidel forward auction with ε-scaling (Bertsekas; each cluster is a class of
/// similar slots with their own prices) finds an ε-optimal assignment fast, and negative-cycle
/// cancelling on the E-node exchange graph then makes it exactly optimal: an assignment is
/// optimal iff no cycle of moves a₁→a₂→…→a₁ (one point each) lowers the cost. With uneven
/// sizes, a virtual node lets the ⌈n/E⌉-sized clusters trade their extra slot.
///
/// The auction starts from zero prices each time: warm prices from an earlier cost matrix lead
/// to long price wars. Later Lloyd iterations, where few keys move, skip the auction and cancel
/// cycles from the previous assignment instead.
struct BalancedAssignment {
  let pointCount: Int
  let clusterCount: Int
  /// The size each cluster starts with in the auction.
  let capacities: [Int]
  /// The smaller and larger allowed size (equal unless sizes are uneven).
  let smallSize: Int
  let largeSize: Int
  /// Per-cluster slot heaps, flattened: cluster e owns `slotStart[e] ..< slotStart[e + 1]`.
  private var slotStart: [Int]
  private var slotPrice: [Double]
  private var slotHolder: [Int32]
  /// Whether `assignment` already holds a feasible assignment from the previous call, which
  /// negative-cycle cancelling can improve directly.
  private var hasFeasibleStart = false
  /// Bids placed by the last call, for measurements.
  private(set) var bids = 0
  /// Negative cycles cancelled by the last call.
  private(set) var cyclesCancelled = 0

  init(pointCount: Int, clusterCount: Int) {
    self.pointCount = pointCount
    self.clusterCount = clusterCount
    let small = pointCount / clusterCount
    let extra = pointCount % clusterCount
    smallSize = small
    largeSize = extra == 0 ? small : small + 1
    capacities = (0..<clusterCount).map { $0 < extra ? small + 1 : small }
    var start = [0]
    for capacity in capacities { start.append(start[start.count - 1] + capacity) }
    slotStart = start
    slotPrice = [Double](repeating: 0, count: pointCount)
    slotHolder = [Int32](repeating: -1, count: pointCount)
  }

  /// Fills `assignment` with a minimum-cost assignment for `cost` (`pointCount × clusterCount`).
  ///
  /// With `auction` false and a feasible assignment from the previous call in `assignment`,
  /// only cycle cancelling runs, starting from it.
  mutating func solve(
    cost: UnsafeBufferPointer<Float>, assignment: inout [Int32], auction useAuction: Bool = true
  ) {
    bids = 0
    cyclesCancelled = 0
    if clusterCount == 1 {
      for index in assignment.indices { assignment[index] = 0 }
      return
    }
    if !hasFeasibleStart || useAuction {
      auction(cost: cost, assignment: &assignment)
      hasFeasibleStart = true
    }
    cancelNegativeCycles(cost: cost, assignment: &assignment)
  }

  // MARK: Auction

  private mutating func auction(cost: UnsafeBufferPointer<Float>, assignment: inout [Int32]) {
    let n = pointCount
    let e = clusterCount
    var low = Float.infinity
    var high = -Float.infinity
    for value in cost {
      low = min(low, value)
      high = max(high, value)
    }
    let range = max(Double(high - low), 1e-12)
    let finalEpsilon = range * 1e-5
    var epsilon = range * 0.05
    for slot in slotPrice.indices { slotPrice[slot] = 0 }
    var queue = [Int32](repeating: 0, count: n)
    while true {
      // Each phase starts with every point unassigned and keeps the slot prices.
      for slot in slotHolder.indices { slotHolder[slot] = -1 }
      for point in 0..<n { queue[point] = Int32(point) }
      var head = 0
      var tail = 0
      var pending = n
      while pending > 0 {
        let point = Int(queue[head])
        head += 1
        if head == n { head = 0 }
        pending -= 1
        let row = point * e
        var best = 0
        var bestValue = -Double.infinity
        var secondValue = -Double.infinity
        for cluster in 0..<e {
          let value = -Double(cost[row + cluster]) - slotPrice[slotStart[cluster]]
          if value > bestValue {
            secondValue = bestValue
            bestValue = value
            best = cluster
          } else if value > secondValue {
            secondValue = value
          }
        }
        let start = slotStart[best]
        let capacity = slotStart[best + 1] - start
        if capacity >= 2 {
          var nextPrice = slotPrice[start + 1]
          if capacity >= 3 { nextPrice = min(nextPrice, slotPrice[start + 2]) }
          secondValue = max(secondValue, -Double(cost[row + best]) - nextPrice)
        }
        if secondValue == -.infinity { secondValue = bestValue }
        let bid = slotPrice[start] + (bestValue - secondValue) + epsilon
        let evicted = slotHolder[start]
        replaceRoot(start: start, count: capacity, price: bid, holder: Int32(point))
        assignment[point] = Int32(best)
        bids += 1
        if evicted >= 0 {
          assignment[Int(evicted)] = -1
          queue[tail] = evicted
          tail += 1
          if tail == n { tail = 0 }
          pending += 1
        }
      }
      if epsilon <= finalEpsilon { break }
      epsilon = max(finalEpsilon, epsilon / 8)
    }
  }

  /// Gives the cheapest slot of a cluster a new price and holder, restoring the min-heap.
  private mutating func replaceRoot(start: Int, count: Int, price: Double, holder: Int32) {
    var position = 0
    while true {
      let left = 2 * position + 1
      if left >= count { break }
      var child = left
      if left + 1 < count && slotPrice[start + left + 1] < slotPrice[start + left] {
        child = left + 1
      }
      if slotPrice[start + child] >= price { break }
      slotPrice[start + position] = slotPrice[start + child]
      slotHolder[start + position] = slotHolder[start + child]
      position = child
    }
    slotPrice[start + position] = price
    slotHolder[start + position] = holder
  }

  // MARK: Exactness

  /// Cancels negative cycles of the exchange graph until none is left.
  private mutating func cancelNegativeCycles(
    cost: UnsafeBufferPointer<Float>, assignment: inout [Int32]
  ) {
    let e = clusterCount
    var members = [[Int32]](repeating: [], count: e)
    var position = [Int](repeating: 0, count: pointCount)
    for point in 0..<pointCount {
      let cluster = Int(assignment[point])
      position[point] = members[cluster].count
      members[cluster].append(Int32(point))
    }
    // delta[a * e + b]: the cheapest change of cost when one point moves from a to b.
    var delta = [Double](repeating: .infinity, count: e * e)
    var mover = [Int32](repeating: -1, count: e * e)
    func refresh(_ a: Int) {
      for b in 0..<e {
        delta[a * e + b] = .infinity
        mover[a * e + b] = -1
      }
      for point in members[a] {
        let row = Int(point) * e
        let own = Double(cost[row + a])
        for b in 0..<e where b != a {
          let change = Double(cost[row + b]) - own
          if change < delta[a * e + b] {
            delta[a * e + b] = change
            mover[a * e + b] = point
          }
        }
      }
    }
    for a in 0..<e { refresh(a) }

    let uneven = smallSize != largeSize
    let nodes = uneven ? e + 1 : e
    let virtual = e
    var distance = [Double](repeating: 0, count: nodes)
    var predecessor = [Int](repeating: -1, count: nodes)
    let tolerance = 1e-9
    var guardRounds = 0
    while guardRounds < 1_000_000 {
      guardRounds += 1
      // Bellman–Ford from a virtual source joined to every node with weight 0.
      for node in 0..<nodes {
        distance[node] = 0
        predecessor[node] = -1
      }
      var lastRelaxed = -1
      for _ in 0..<nodes {
        lastRelaxed = -1
        for a in 0..<nodes {
          let base = distance[a]
          for b in 0..<nodes where b != a {
            let weight: Double
            if a == virtual {
              weight = members[b].count == largeSize ? 0 : .infinity
            } else if b == virtual {
              weight = members[a].count == smallSize ? 0 : .infinity
            } else {
              weight = delta[a * e + b]
            }
            if base + weight < distance[b] - tolerance {
              distance[b] = base + weight
              predecessor[b] = a
              lastRelaxed = b
            }
          }
        }
        if lastRelaxed < 0 { break }
      }
      if lastRelaxed < 0 { return }
      // Walk back into the cycle, then collect it.
      var node = lastRelaxed
      for _ in 0..<nodes { node = predecessor[node] }
      var cycle: [Int] = []
      var walker = node
      repeat {
        cycle.append(walker)
        walker = predecessor[walker]
      } while walker != node && cycle.count <= nodes
      var total = 0.0
      for target in cycle {
        let source = predecessor[target]
        if source != virtual && target != virtual { total += delta[source * e + target] }
      }
      guard total < -1e-7 else { return }
      cyclesCancelled += 1
      var moves: [(point: Int, from: Int, to: Int)] = []
      for target in cycle {
        let source = predecessor[target]
        if source == virtual || target == virtual { continue }
        moves.append((Int(mover[source * e + target]), source, target))
      }
      for move in moves {
        let list = move.from
        let at = position[move.point]
        let last = members[list].removeLast()
        if Int(last) != move.point {
          members[list][at] = last
          position[Int(last)] = at
        }
        position[move.point] = members[move.to].count
        members[move.to].append(Int32(move.point))
        assignment[move.point] = Int32(move.to)
      }
      var touched = Set<Int>()
      for move in moves {
        touched.insert(move.from)
        touched.insert(move.to)
      }
      for cluster in touched.sorted() { refresh(cluster) }
    }
  }
}
