import EMoECore
import EMoEFormats

/// The `.emoe` container benchmark: write, verify and size, on the real models.
///
/// Writes every tensor of the real MiniLM safetensors file (and the SmolLM2 GGUF) into `.emoe`
/// containers, uncompressed and at several zstd levels, then reads each back with full
/// verification (header, every checksum, decompression, padding). Prints one JSON object per
/// measurement.
///
/// Arguments (``ContainerCommand``): `[--models DIR] [--minilm PATH] [--smollm PATH] [--out DIR]
/// [--levels 1,3,9,19]`.
enum ContainerBench {
  static func run(miniLM: String, smolLM: String, out: String, levels: [Int]) throws {
    _ = mkdirAll(out)
    var compressions: [ContainerCompression] = [.none]
    compressions += levels.map { .zstd(level: $0) }
    if FileSystem.exists(miniLM) {
      let source = try SafeTensorsFile(path: miniLM)
      try measureChecksums(path: miniLM)
      for compression in compressions {
        try measure(
          model: "MiniLM-L6 (F32 safetensors)", source: source, format: "safetensors",
          compression: compression, output: out + "/minilm.emoe")
      }
    }
    if FileSystem.exists(smolLM) {
      let source = try GGUFFile(path: smolLM)
      for compression in compressions {
        try measure(
          model: "SmolLM2-135M (Q4_1 GGUF)", source: source, format: "gguf",
          compression: compression, output: out + "/smollm2.emoe")
      }
    }
  }

  private static func measure(
    model: String, source: any ModelSource, format: String, compression: ContainerCompression,
    output: String
  ) throws {
    let clock = ContinuousClock()
    let infos = source.tensorInfos
    let rawBytes = infos.reduce(0) { $0 + $1.byteCount }
    let sourceSize = source.files.reduce(0) { $0 + (FileSystem.size($1) ?? 0) }
    let plan = ContainerPlan(
      tool: ContainerTool(name: "emoe-bench", version: "0"), options: .object([]),
      source: ContainerSourceDescription(
        format: format,
        files: source.files.map {
          ContainerSourceFile(
            name: FileSystem.basename(of: $0), size: FileSystem.size($0) ?? 0,
            sha256: String(repeating: "0", count: 64))
        },
        metadata: source.metadata, config: source.config),
      layers: [], tensors: infos.map { .passthrough($0, compression: compression) })

    let writeStart = clock.now
    let writer = try ContainerWriter(path: output, plan: plan)
    for info in infos { try writer.append(try source.tensor(named: info.name)) }
    try writer.commit()
    let writeSeconds = seconds(clock.now - writeStart)

    let readStart = clock.now
    let report = try ContainerIntegrity.verify(path: output)
    let readSeconds = seconds(clock.now - readStart)
    guard report.ok else {
      throw ContainerBenchFailure(message: "verification failed: \(report.failures)")
    }

    let container = try ContainerFile(path: output)
    var byType: [DType: (raw: Int, stored: Int)] = [:]
    for entry in container.entries {
      let sums = byType[entry.dtype] ?? (0, 0)
      byType[entry.dtype] = (sums.raw + entry.rawLength, sums.stored + entry.storedLength)
    }
    let fileSize = container.header.fileSize
    let level: JSONValue =
      switch compression {
      case .none: .null
      case .zstd(let level): .integer(Int64(level))
      }
    let perType = byType.keys.sorted { $0.rawValue < $1.rawValue }.map { dtype in
      let sums = byType[dtype] ?? (0, 1)
      return JSONMember(dtype.rawValue, .number(ratio(sums.stored, sums.raw)))
    }
    let result = JSONValue.object([
      JSONMember("benchmark", .string("container")),
      JSONMember("model", .string(model)),
      JSONMember("zstd_level", level),
      JSONMember("tensors", .integer(Int64(infos.count))),
      JSONMember("tensor_bytes", .integer(Int64(rawBytes))),
      JSONMember("manifest_bytes", .integer(Int64(container.header.manifestLength))),
      JSONMember("source_bytes", .integer(Int64(sourceSize))),
      JSONMember("file_bytes", .integer(Int64(fileSize))),
      JSONMember("size_ratio", .number(ratio(fileSize, sourceSize))),
      JSONMember("stored_over_raw_by_dtype", .object(perType)),
      JSONMember("write_seconds", .number(round3(writeSeconds))),
      JSONMember("write_mb_per_s", .number(round3(Double(rawBytes) / 1e6 / writeSeconds))),
      JSONMember("verify_seconds", .number(round3(readSeconds))),
      JSONMember("verify_mb_per_s", .number(round3(Double(rawBytes) / 1e6 / readSeconds))),
    ])
    print(result.serialized())
    unlink(output)
  }

  /// XXH64 against SHA-256 over the same bytes: why the container checksums with XXH64.
  private static func measureChecksums(path: String) throws {
    let file = try MappedFile(path: path)
    let clock = ContinuousClock()
    _ = XXH64.hash(file.bytes)  // touch every page first, so both hashes read from memory
    var start = clock.now
    let digest = XXH64.hash(file.bytes)
    let xxh = seconds(clock.now - start)
    start = clock.now
    let sha = SHA256.hex(of: file.bytes)
    let shaSeconds = seconds(clock.now - start)
    let megabytes = Double(file.count) / 1e6
    print(
      JSONValue.object([
        JSONMember("benchmark", .string("container-checksums")),
        JSONMember("bytes", .integer(Int64(file.count))),
        JSONMember("xxh64_mb_per_s", .number(round3(megabytes / xxh))),
        JSONMember("sha256_mb_per_s", .number(round3(megabytes / shaSeconds))),
        JSONMember("xxh64", .string(XXH64.hex(digest))),
        JSONMember("sha256", .string(sha)),
      ]).serialized())
  }

  private static func seconds(_ duration: Duration) -> Double {
    let (whole, fraction) = duration.components
    return Double(whole) + Double(fraction) / 1e18
  }

  private static func ratio(_ part: Int, _ whole: Int) -> Double {
    whole == 0 ? 0 : (Double(part) / Double(whole) * 10000).rounded() / 10000
  }

  private static func round3(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }

  private static func mkdirAll(_ path: String) -> Bool {
    var built = path.hasPrefix("/") ? "" : "."
    for component in path.split(separator: "/") {
      built += "/" + component
      if !FileSystem.exists(built) { mkdir(built, 0o755) }
    }
    return FileSystem.exists(path)
  }
}

/// A benchmark whose own check failed.
struct ContainerBenchFailure: Error, CustomStringConvertible {
  var message: String
  var description: String { message }
}
