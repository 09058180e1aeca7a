/// A benchmark not written yet.
enum SafeTensorsBench {
  static func run(_ arguments: [String]) throws {
    print("{\"benchmark\": \"SafeTensorsBench\", \"status\": \"not implemented\"}")
  }
}
