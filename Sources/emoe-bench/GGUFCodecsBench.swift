/// A benchmark not written yet.
enum GGUFCodecsBench {
  static func run(_ arguments: [String]) throws {
    print("{\"benchmark\": \"GGUFCodecsBench\", \"status\": \"not implemented\"}")
  }
}
