import EMoECore

/// SHA-256 throughput of the provenance hash, two ways.
///
/// `mb_per_s` hashes the whole file already in memory (the hash alone); `file_mb_per_s` is
/// ``FileSystem/sha256(ofFile:progress:)``, the path every command takes: map, 16 MiB chunks,
/// each page released after hashing, so it includes the page faults from the page cache.
/// Prints one JSON object per file with the best of five passes of each.
///
/// Arguments (``HashCommand``): `FILE...`.
enum HashBench {
  static func run(paths: [String]) throws {
    for path in paths {
      let file = try MappedFile(path: path)
      _ = XXH64.hash(file.bytes)  // touch every page, so the hash reads from memory
      var digest = ""
      let memory = best { digest = SHA256.hex(of: file.bytes) }
      var fromFile = ""
      let mapped = try best { () throws(FileError) in fromFile = try FileSystem.sha256(ofFile: path)
      }
      guard fromFile == digest else { throw FileError(path: path, operation: "hash", code: EIO) }
      print(
        JSONValue.object([
          JSONMember("benchmark", .string("sha256")),
          JSONMember("file", .string(path)),
          JSONMember("bytes", .integer(Int64(file.count))),
          JSONMember("seconds", .number(memory)),
          JSONMember("mb_per_s", .number((Double(file.count) / 1e6 / memory).rounded())),
          JSONMember("file_seconds", .number(mapped)),
          JSONMember("file_mb_per_s", .number((Double(file.count) / 1e6 / mapped).rounded())),
          JSONMember("sha256", .string(digest)),
        ]).serialized())
    }
  }

  /// The shortest of five runs of `body`, in seconds.
  private static func best<E: Error>(_ body: () throws(E) -> Void) throws(E) -> Double {
    let clock = ContinuousClock()
    var best = Double.infinity
    for _ in 0..<5 {
      let start = clock.now
      try body()
      let (whole, fraction) = (clock.now - start).components
      best = min(best, Double(whole) + Double(fraction) / 1e18)
    }
    return best
  }
}
