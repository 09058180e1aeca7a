/// A benchmark not written yet.
enum ContainerBench {
  static func run(_ arguments: [String]) throws {
    print("{\"benchmark\": \"ContainerBench\", \"status\": \"not implemented\"}")
  }
}
