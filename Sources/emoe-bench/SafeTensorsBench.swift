import EMoECore
import EMoEFormats

/// Times opening a safetensors file and summing every byte of every tensor.
///
/// Prints one JSON object per run and a summary; `scripts/bench/safetensors.sh` runs it beside
/// the Python `safetensors` package.
///
///     emoe-bench safetensors-read FILE [--runs N] [--cold] [--chunk BYTES]
///
/// Each run maps and validates the file, advises the kernel of a sequential read of the whole
/// mapping, then streams every tensor through
/// ``EMoEFormats/SafeTensorsFile/streamBytes(of:chunkSize:_:)``, adding the bytes as `UInt64`.
/// `--cold` asks the kernel to drop the file's cached pages before each run
/// (`posix_fadvise(DONTNEED)`), so the data comes from disk again as far as the system allows.
/// Peak memory is the process's `ru_maxrss` after all runs.
enum SafeTensorsBench {
  static func run(path: String, runs: Int, cold: Bool, chunkSize: Int) throws {
    var best = Double.infinity
    var bestOpen = Double.infinity
    var checksum: UInt64 = 0
    var tensorCount = 0
    var dataBytes = 0
    for run in 1...runs {
      if cold { dropCache(path) }
      let start = now()
      let file = try SafeTensorsFile(path: path)
      file.mapping.adviseSequential()
      let opened = now()
      var sum: UInt64 = 0
      for entry in file.entries {
        file.streamBytes(of: entry, chunkSize: chunkSize) { sum &+= byteSum($0) }
      }
      let end = now()
      best = min(best, end - start)
      bestOpen = min(bestOpen, opened - start)
      checksum = sum
      tensorCount = file.entries.count
      dataBytes = file.totalByteCount
      emit([
        ("benchmark", .string("safetensors-read")), ("implementation", .string("emoe-pack")),
        ("run", .integer(Int64(run))), ("cold", .bool(cold)),
        ("open_ms", .number((opened - start) * 1000)), ("total_ms", .number((end - start) * 1000)),
        ("byte_sum", .unsignedInteger(sum)),
      ])
    }
    emit([
      ("benchmark", .string("safetensors-read")), ("implementation", .string("emoe-pack")),
      ("summary", .bool(true)), ("file", .string(path)),
      ("file_bytes", .integer(Int64(FileSystem.size(path) ?? 0))),
      ("data_bytes", .integer(Int64(dataBytes))), ("tensors", .integer(Int64(tensorCount))),
      ("runs", .integer(Int64(runs))), ("cold", .bool(cold)),
      ("chunk_bytes", .integer(Int64(chunkSize))),
      ("best_open_ms", .number(bestOpen * 1000)), ("best_total_ms", .number(best * 1000)),
      ("gb_per_s", .number(Double(dataBytes) / best / 1e9)),
      ("byte_sum", .unsignedInteger(checksum)), ("peak_rss_bytes", .integer(Int64(peakRSS()))),
    ])
  }

  /// The sum of `bytes` as unsigned integers.
  ///
  /// Chunks are at most 16 MiB, so a 32-bit total cannot overflow (16 Mi × 255 < 2^32), and the
  /// loop vectorises over 32-bit lanes.
  static func byteSum(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
    precondition(bytes.count <= 1 << 24, "chunk too large for 32-bit accumulation")
    var total: UInt32 = 0
    for byte in bytes { total &+= UInt32(byte) }
    return UInt64(total)
  }

  private static func emit(_ members: [(String, JSONValue)]) {
    print(JSONValue.object(members.map { JSONMember($0.0, $0.1) }).serialized())
  }

  private static func now() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
  }

  /// The peak resident set size of this process in bytes (`ru_maxrss` is in KiB on Linux).
  private static func peakRSS() -> Int { POSIX.peakResidentBytes() }

  /// Asks the kernel to drop the file's pages from the page cache.
  private static func dropCache(_ path: String) {
    let descriptor = open(path, O_RDONLY)
    guard descriptor >= 0 else { return }
    POSIX.dropCachedPages(descriptor)
    close(descriptor)
  }
}
