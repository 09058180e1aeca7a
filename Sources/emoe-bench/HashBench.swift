import EMoECore

/// SHA-256 throughput of the provenance hash, two ways.
///
/// `mb_per_s` hashes the whole file already in memory (the hash alone); `file_mb_per_s` is
/// ``FileSystem/sha256(ofFile:progress:)``, the path every command takes: map, 16 MiB chunks,
/// each page released after hashing, so it includes the page faults from the page cache.
/// Prints one JSON object per file with the best of five passes of each, in wall-clock time
/// and in the thread's CPU time (`cpu_…`: what one core does when it is not shared, the figure
/// that holds on a loaded machine).
///
/// Arguments (``HashCommand``): `FILE...`.
enum HashBench {
  static func run(paths: [String]) throws {
    for path in paths {
      let file = try MappedFile(path: path)
      _ = XXH64.hash(file.bytes)  // touch every page, so the hash reads from memory
      var digest = ""
      let (memory, memoryCPU) = best { digest = SHA256.hex(of: file.bytes) }
      var fromFile = ""
      let (mapped, mappedCPU) = try best { () throws(FileError) in
        fromFile = try FileSystem.sha256(ofFile: path)
      }
      let megabytes = Double(file.count) / 1e6
      guard fromFile == digest else { throw FileError(path: path, operation: "hash", code: EIO) }
      print(
        JSONValue.object([
          JSONMember("benchmark", .string("sha256")),
          JSONMember("file", .string(path)),
          JSONMember("bytes", .integer(Int64(file.count))),
          JSONMember("seconds", .number(memory)),
          JSONMember("mb_per_s", .number((megabytes / memory).rounded())),
          JSONMember("cpu_mb_per_s", .number((megabytes / memoryCPU).rounded())),
          JSONMember("file_seconds", .number(mapped)),
          JSONMember("file_mb_per_s", .number((megabytes / mapped).rounded())),
          JSONMember("file_cpu_mb_per_s", .number((megabytes / mappedCPU).rounded())),
          JSONMember("sha256", .string(digest)),
        ]).serialized())
    }
  }

  /// The shortest of five runs of `body`: wall-clock and thread CPU seconds (each its own
  /// minimum).
  private static func best<E: Error>(_ body: () throws(E) -> Void) throws(E) -> (Double, Double) {
    let clock = ContinuousClock()
    var wall = Double.infinity
    var cpu = Double.infinity
    for _ in 0..<5 {
      let start = clock.now
      let startCPU = threadCPUSeconds()
      try body()
      let (whole, fraction) = (clock.now - start).components
      wall = min(wall, Double(whole) + Double(fraction) / 1e18)
      cpu = min(cpu, threadCPUSeconds() - startCPU)
    }
    return (wall, cpu)
  }

  /// The calling thread's CPU time (user and system) in seconds.
  private static func threadCPUSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
  }
}
