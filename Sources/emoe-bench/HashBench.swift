import EMoECore

/// SHA-256 throughput over files already in memory (the provenance hash).
///
/// Prints one JSON object per file with the best of five passes.
///
/// Arguments (``HashCommand``): `FILE...`.
enum HashBench {
  static func run(paths: [String]) throws {
    for path in paths {
      let file = try MappedFile(path: path)
      let clock = ContinuousClock()
      _ = XXH64.hash(file.bytes)  // touch every page, so the hash reads from memory
      var best = Double.infinity
      var digest = ""
      for _ in 0..<5 {
        let start = clock.now
        digest = SHA256.hex(of: file.bytes)
        let (whole, fraction) = (clock.now - start).components
        best = min(best, Double(whole) + Double(fraction) / 1e18)
      }
      print(
        JSONValue.object([
          JSONMember("benchmark", .string("sha256")),
          JSONMember("file", .string(path)),
          JSONMember("bytes", .integer(Int64(file.count))),
          JSONMember("seconds", .number(best)),
          JSONMember("mb_per_s", .number((Double(file.count) / 1e6 / best).rounded())),
          JSONMember("sha256", .string(digest)),
        ]).serialized())
    }
  }
}
