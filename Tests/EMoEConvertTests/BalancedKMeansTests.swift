import EMoECore
import EMoENumerics
import EMoETestSupport
import Testing

@testable import EMoEConvert

@Suite("Balanced k-means")
struct BalancedKMeansTests {
  @Test("every expert gets exactly n/E keys", arguments: [1, 4, 16, 48, 480])
  func equalSizes(experts: Int) throws {
    let keys = ClusteringTestData.clusteredKeys(count: 480, dimension: 24, centres: 20, seed: 1)
    let result = try BalancedKMeans(options: .init(experts: experts, restarts: 2))
      .fit(keys: keys, count: 480, dimension: 24)
    #expect(result.sizes == [Int](repeating: 480 / experts, count: experts))
    #expect(result.assignment.count == 480)
    #expect(result.assignment.allSatisfy { (0..<experts).contains($0) })
    #expect(result.partition.expertSizes == result.sizes)
    #expect(result.partition.permutation.sorted() == Array(0..<480))
    #expect(result.sse >= 0 && result.sse.isFinite)
    if experts == 480 { #expect(result.sse < 1e-9) }
  }

  @Test("uneven sizes are ⌊n/E⌋ and ⌈n/E⌉ with exactly n mod E larger experts")
  func unevenSizes() throws {
    let keys = ClusteringTestData.clusteredKeys(count: 500, dimension: 16, centres: 12, seed: 2)
    #expect(throws: ClusteringError.notDivisible(keys: 500, experts: 16)) {
      try BalancedKMeans(options: .init(experts: 16)).fit(keys: keys, count: 500, dimension: 16)
    }
    let result = try BalancedKMeans(options: .init(experts: 16, allowUneven: true, restarts: 3))
      .fit(keys: keys, count: 500, dimension: 16)
    #expect(result.sizes.sorted() == [Int](repeating: 31, count: 12) + [32, 32, 32, 32])
  }

  @Test("results are identical across runs and BLAS thread counts")
  func determinism() throws {
    let keys = ClusteringTestData.clusteredKeys(count: 768, dimension: 48, centres: 30, seed: 3)
    let clusterer = BalancedKMeans(options: .init(experts: 32, restarts: 3, seed: 42))
    let saved = BLAS.threadCount
    defer { BLAS.threadCount = saved }
    BLAS.threadCount = 1
    let single = try clusterer.fit(keys: keys, count: 768, dimension: 48)
    BLAS.threadCount = 2
    let double = try clusterer.fit(keys: keys, count: 768, dimension: 48)
    let again = try clusterer.fit(keys: keys, count: 768, dimension: 48)
    #expect(single.assignment == double.assignment)
    #expect(double.assignment == again.assignment)
    #expect(single.sse.bitPattern == double.sse.bitPattern)
    #expect(single.restartSSE == again.restartSSE)
    let other = try BalancedKMeans(options: .init(experts: 32, restarts: 3, seed: 43))
      .fit(keys: keys, count: 768, dimension: 48)
    #expect(other.restartSSE != single.restartSSE, "the seed matters")
  }

  @Test(
    "the reported SSE and centroids match numpy for the returned assignment",
    .enabled(if: Oracles.python(["numpy"])))
  func sseMatchesNumpy() throws {
    try PythonOracle.require(["numpy"])
    let keys = ClusteringTestData.clusteredKeys(count: 256, dimension: 20, centres: 10, seed: 4)
    let result = try BalancedKMeans(options: .init(experts: 8, restarts: 2))
      .fit(keys: keys, count: 256, dimension: 20)
    let folder = try TemporaryDirectory()
    try ClusteringTestData.write(keys, toPath: folder.file("keys.f32"))
    try ClusteringTestData.write(
      result.assignment.map(Float.init), toPath: folder.file("labels.f32"))
    let script = """
      import sys, numpy as np
      x = np.fromfile(sys.argv[1], '<f4').astype(np.float64).reshape(256, 20)
      x /= np.linalg.norm(x, axis=1, keepdims=True)
      labels = np.fromfile(sys.argv[2], '<f4').astype(int)
      means = np.stack([x[labels == e].mean(axis=0) for e in range(8)])
      print(repr(float(((x - means[labels]) ** 2).sum())))
      means.astype('<f4').tofile(sys.argv[3])
      """
    let output = try PythonOracle.check(
      script,
      arguments: [folder.file("keys.f32"), folder.file("labels.f32"), folder.file("means.f32")])
    let expected = try #require(Double(output.trimmingCharacters(in: .whitespacesAndNewlines)))
    // We normalise in F32, numpy in F64: the SSEs agree to F32 rounding of the unit keys.
    #expect(abs(result.sse - expected) <= 1e-7 * expected)
    let means = try ClusteringTestData.floats(atPath: folder.file("means.f32"))
    for (ours, theirs) in zip(result.centroids, means) { #expect(abs(ours - theirs) <= 1e-6) }
  }

  @Test("local improvement and restarts never make the SSE worse")
  func improvementIsMonotone() throws {
    let keys = ClusteringTestData.clusteredKeys(count: 640, dimension: 32, centres: 25, seed: 5)
    func sse(restarts: Int, local: Bool) throws -> Double {
      try BalancedKMeans(options: .init(experts: 16, restarts: restarts, localImprovement: local))
        .fit(keys: keys, count: 640, dimension: 32).sse
    }
    let plain = try sse(restarts: 1, local: false)
    let improved = try sse(restarts: 1, local: true)
    let more = try sse(restarts: 5, local: true)
    #expect(improved <= plain)
    #expect(more <= improved)
  }

  @Test("zero keys are allowed and large finite keys do not overflow")
  func extremeKeys() throws {
    var keys = ClusteringTestData.clusteredKeys(count: 64, dimension: 8, centres: 4, seed: 6)
    for column in 0..<8 {
      keys[column] = 0
      keys[8 + column] = 1e30
    }
    let result = try BalancedKMeans(options: .init(experts: 4, restarts: 1))
      .fit(keys: keys, count: 64, dimension: 8)
    #expect(result.sizes == [16, 16, 16, 16])
    #expect(result.sse.isFinite)
  }

  @Test("bad inputs are typed errors")
  func errors() {
    let keys = [Float](repeating: 1, count: 40)
    #expect(throws: ClusteringError.badKeyShape(values: 40, count: 8, dimension: 4)) {
      try BalancedKMeans(options: .init(experts: 2)).fit(keys: keys, count: 8, dimension: 4)
    }
    #expect(throws: ClusteringError.expertCountOutOfRange(experts: 11, keys: 10)) {
      try BalancedKMeans(options: .init(experts: 11)).fit(keys: keys, count: 10, dimension: 4)
    }
    #expect(throws: ClusteringError.expertCountOutOfRange(experts: 0, keys: 10)) {
      try BalancedKMeans(options: .init(experts: 0)).fit(keys: keys, count: 10, dimension: 4)
    }
    var bad = keys
    bad[29] = .nan
    #expect(throws: ClusteringError.nonFinite(row: 7)) {
      try BalancedKMeans(options: .init(experts: 2)).fit(keys: bad, count: 10, dimension: 4)
    }
  }

  @Test("default restarts follow the layer size")
  func defaultRestarts() {
    #expect(BalancedKMeans.defaultRestarts(keys: 256, dimension: 64, experts: 64) == 100)
    #expect(BalancedKMeans.defaultRestarts(keys: 1536, dimension: 384, experts: 16) == 10)
    #expect(BalancedKMeans.defaultRestarts(keys: 1536, dimension: 576, experts: 64) == 10)
    #expect(BalancedKMeans.defaultRestarts(keys: 3072, dimension: 768, experts: 16) == 10)
    #expect(BalancedKMeans.defaultRestarts(keys: 11008, dimension: 4096, experts: 64) == 1)
  }
}
