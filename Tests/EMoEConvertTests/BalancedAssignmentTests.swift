import EMoETestSupport
import Foundation
import Testing

@testable import EMoEConvert

@Suite("Balanced assignment step")
struct BalancedAssignmentTests {
  /// The optimal total cost from scipy's exact linear_sum_assignment on the expanded slot matrix
  /// (each cluster's ⌊n/E⌋ slots made mandatory by a large bonus, plus one optional slot each
  /// when sizes are uneven).
  private func scipyOptimum(_ cost: [Float], points: Int, clusters: Int) throws -> Double {
    let folder = try TemporaryDirectory()
    try ClusteringTestData.write(cost, toPath: folder.file("cost.f32"))
    let script = """
      import sys, numpy as np
      from scipy.optimize import linear_sum_assignment
      n, e = int(sys.argv[2]), int(sys.argv[3])
      c = np.fromfile(sys.argv[1], '<f4').astype(np.float64).reshape(n, e)
      small, extra = n // e, n % e
      columns, bonus = [], []
      for k in range(e):
          columns += [k] * small + ([k] if extra else [])
          bonus += [-1e6] * small + ([0.0] if extra else [])
      expanded = c[:, columns] + np.array(bonus)
      rows, cols = linear_sum_assignment(expanded)
      print(repr(float(c[rows, np.array(columns)[cols]].sum())))
      """
    let output = try PythonOracle.check(
      script, arguments: [folder.file("cost.f32"), String(points), String(clusters)])
    return try #require(Double(output.trimmingCharacters(in: .whitespacesAndNewlines)))
  }

  @Test(
    "auction plus cycle cancelling reaches scipy's exact optimum",
    .enabled(if: Oracles.python(["numpy", "scipy"])),
    arguments: [(120, 6, 1), (90, 9, 2), (103, 8, 3), (64, 64, 4), (200, 2, 5)])
  func exactOptimum(points: Int, clusters: Int, seed: UInt64) throws {
    try PythonOracle.require(["numpy", "scipy"])
    var generator = SplitMix64(seed: seed)
    // Squared distances of random points to random centres, as in a real assignment step.
    let cost = (0..<(points * clusters)).map { _ in Float(generator.nextUnit() * 4 - 2) }
    var solver = BalancedAssignment(pointCount: points, clusterCount: clusters)
    var assignment = [Int32](repeating: 0, count: points)
    cost.withUnsafeBufferPointer { solver.solve(cost: $0, assignment: &assignment) }
    var sizes = [Int](repeating: 0, count: clusters)
    var total = 0.0
    for (point, cluster) in assignment.enumerated() {
      sizes[Int(cluster)] += 1
      total += Double(cost[point * clusters + Int(cluster)])
    }
    #expect(sizes.min()! == points / clusters && sizes.max()! == (points + clusters - 1) / clusters)
    let optimum = try scipyOptimum(cost, points: points, clusters: clusters)
    #expect(abs(total - optimum) <= 1e-5 * max(1, abs(optimum)), "ours \(total), scipy \(optimum)")

    // A second call starts from the first assignment and must stay optimal for new costs.
    let shifted = cost.enumerated().map { $0.element + Float($0.offset % 7) * 0.01 }
    shifted.withUnsafeBufferPointer { solver.solve(cost: $0, assignment: &assignment) }
    var shiftedTotal = 0.0
    for (point, cluster) in assignment.enumerated() {
      shiftedTotal += Double(shifted[point * clusters + Int(cluster)])
    }
    let shiftedOptimum = try scipyOptimum(shifted, points: points, clusters: clusters)
    #expect(abs(shiftedTotal - shiftedOptimum) <= 1e-5 * max(1, abs(shiftedOptimum)))
  }
}
