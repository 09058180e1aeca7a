/// A benchmark not written yet.
enum ClusteringBench {
  static func run(_ arguments: [String]) throws {
    print("{\"benchmark\": \"ClusteringBench\", \"status\": \"not implemented\"}")
  }
}
