import Dispatch
import EMoECore
import EMoEFormats
import EMoENumerics

/// Throughput of the ggml codecs on real tensors, beside `scripts/bench/gguf_codecs.py`
/// (gguf-py with numpy) on the same data; prints one JSON object per measurement.
///
///     emoe-bench gguf-codecs [--model SMOLLM2.gguf] [--runs N]
///     emoe-bench gguf-codecs --int8-error [--model SMOLLM2.gguf] [--minilm model.safetensors]
///     emoe-bench gguf-codecs --all-types [--runs N]
///
/// Workloads, all from SmolLM2-135M-Instruct's 90 FFN tensors (Q4_1, 79.6 M values):
/// - `q4_1_dequantize`: those tensors' Q4_1 blocks to F32;
/// - `q6_k_dequantize`: the same bytes cut into 210-byte Q6_K blocks with a sane F16 scale
///   (`0x2000 | block % 1024`) written into each (gguf-py cannot make K-quants);
/// - `q8_0_quantize`: the tensors' F32 values (decoded from Q4_1) to Q8_0.
///
/// Throughput counts F32 bytes (output of decoding, input of quantising). Each figure is the
/// best of `--runs` passes, single-threaded and with one chunk of blocks per core. Decoding goes
/// tensor by tensor (Q6_K: 1 M values at a time) into one reused scratch buffer, the way the
/// converter and runner decode; quantising writes into a preallocated buffer. `checksum` is the
/// SHA-256 of all outputs in order, equal to the Python script's when the results are identical.
///
/// `--int8-error` instead measures ``Int8RowQuantizer`` (and Q8_0 for comparison) on random
/// normal data, SmolLM2's FFN weights and MiniLM's F32 matrices; `--all-types` times every
/// decoder on 1 M values of made-up blocks.
enum GGUFCodecsBench {
  static func run(_ options: Options) throws {
    if options.allTypes {
      allTypes(runs: options.runs)
      return
    }
    let workload = try Workload(path: options.model)
    if options.int8Error {
      try QuantisationErrorReport.run(workload: workload, miniLM: options.miniLM)
      return
    }
    let q4Pieces = workload.pieces(.q4_1)
    let q6Pieces = workload.pieces(.q6_K)
    for threads in [1, 2] {
      let q4Checksum = checksum(q4Pieces, .q4_1, workload.q4_1, workload, threads: threads)
      measure("q4_1_dequantize", threads, options.runs, workload.count, q4Checksum) {
        for piece in q4Pieces {
          Self.decode(.q4_1, piece, from: workload.q4_1, into: workload.output, threads: threads)
        }
      }
      let q6Checksum = checksum(q6Pieces, .q6_K, workload.q6_k, workload, threads: threads)
      measure("q6_k_dequantize", threads, options.runs, workload.q6_kCount, q6Checksum) {
        for piece in q6Pieces {
          Self.decode(.q6_K, piece, from: workload.q6_k, into: workload.output, threads: threads)
        }
      }
      workload.q8_0.initializeMemory(as: UInt8.self, repeating: 0)
      Self.quantize(workload.floats, into: workload.q8_0, threads: threads)
      let q8Checksum = SHA256.hex(of: UnsafeRawBufferPointer(workload.q8_0))
      measure("q8_0_quantize", threads, options.runs, workload.count, q8Checksum) {
        Self.quantize(workload.floats, into: workload.q8_0, threads: threads)
      }
    }
  }

  /// The SHA-256 of every piece's decoded values, in order (computed outside the timing).
  private static func checksum(
    _ pieces: [Range<Int>], _ dtype: DType, _ source: UnsafeRawBufferPointer,
    _ workload: Workload, threads: Int
  ) -> String {
    var hash = SHA256()
    for piece in pieces {
      decode(dtype, piece, from: source, into: workload.output, threads: threads)
      hash.update(
        UnsafeRawBufferPointer(
          start: workload.output.baseAddress, count: piece.count * dtype.blockSize * 4))
    }
    return hash.finalizeHex()
  }

  /// Decodes 1 M values of every supported type from pseudo-random blocks whose F16 (or F32)
  /// scales are set to sane values, into a 4 MB buffer on one thread.
  private static func allTypes(runs: Int) {
    let scaleOffsets: [DType: [Int]] = [
      .q4_0: [0], .q4_1: [0, 2], .q5_0: [0], .q5_1: [0, 2], .q8_0: [0], .q2_K: [80, 82],
      .q3_K: [108], .q4_K: [0, 2], .q5_K: [0, 2], .q6_K: [208],
    ]
    let output = UnsafeMutableBufferPointer<Float>.allocate(capacity: 1 << 20)
    output.initialize(repeating: 0)
    defer { output.deallocate() }
    var generator = SplitMix(seed: 5)
    for dtype in Dequantizer.supportedTypes where dtype != .f32 {
      let blocks = (1 << 20) / dtype.blockSize
      var bytes = (0..<(blocks * dtype.blockBytes)).map { _ in
        UInt8(truncatingIfNeeded: generator.next())
      }
      for block in 0..<blocks {
        for offset in scaleOffsets[dtype] ?? [] {
          let half = 0x2000 | UInt16(block % 1024)
          bytes[block * dtype.blockBytes + offset] = UInt8(half & 0xFF)
          bytes[block * dtype.blockBytes + offset + 1] = UInt8(half >> 8)
        }
        if dtype == .q8_K {
          withUnsafeBytes(of: Float(0.01).bitPattern.littleEndian) { scale in
            for index in 0..<4 { bytes[block * dtype.blockBytes + index] = scale[index] }
          }
        }
      }
      if dtype == .f16 || dtype == .bf16 {
        for index in stride(from: 1, to: bytes.count, by: 2) {
          bytes[index] = 0x3C ^ (bytes[index] & 0x83)
        }
      }
      bytes.withUnsafeBytes { raw in
        nonisolated(unsafe) let input = raw
        measure(
          dtype.rawValue.lowercased() + "_dequantize_4mb", 1, runs, blocks * dtype.blockSize, "-"
        ) {
          Dequantizer.dequantizeBlocks(
            dtype, from: input.baseAddress!, blockCount: blocks, into: output.baseAddress!)
        }
      }
    }
  }

  /// Runs `body` `runs` times and prints the best time as one JSON line.
  private static func measure(
    _ name: String, _ threads: Int, _ runs: Int, _ values: Int, _ checksum: String,
    _ body: () -> Void
  ) {
    body()
    var best = Double.infinity
    for _ in 0..<runs {
      let start = ContinuousClock.now
      body()
      let elapsed = ContinuousClock.now - start
      let seconds =
        Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
      best = min(best, seconds)
    }
    let gigabytes = Double(values) * 4 / 1e9
    print(
      "{\"benchmark\": \"gguf-codecs\", \"implementation\": \"emoe-pack\", \"op\": \"\(name)\", "
        + "\"threads\": \(threads), \"values\": \(values), \"seconds\": \(best), "
        + "\"f32_gb_per_s\": \(gigabytes / best), \"checksum\": \"\(checksum)\"}")
  }

  /// Decodes the blocks `blocks` of `source` into the start of `output`, split into one
  /// contiguous chunk per thread.
  private static func decode(
    _ dtype: DType, _ blocks: Range<Int>, from source: UnsafeRawBufferPointer,
    into output: UnsafeMutableBufferPointer<Float>, threads: Int
  ) {
    nonisolated(unsafe) let input = source.baseAddress! + blocks.lowerBound * dtype.blockBytes
    nonisolated(unsafe) let target = output.baseAddress!
    split(blocks.count, threads: threads) { first, count in
      Dequantizer.dequantizeBlocks(
        dtype, from: input + first * dtype.blockBytes, blockCount: count,
        into: target + first * dtype.blockSize)
    }
  }

  /// Quantises all of `source` to Q8_0, split into one contiguous chunk per thread.
  private static func quantize(
    _ source: UnsafeBufferPointer<Float>, into output: UnsafeMutableRawBufferPointer, threads: Int
  ) {
    nonisolated(unsafe) let input = source.baseAddress!
    nonisolated(unsafe) let target = output.baseAddress!
    split(source.count / 32, threads: threads) { first, count in
      Q8_0Quantizer.quantizeBlocks(input + first * 32, blockCount: count, into: target + first * 34)
    }
  }

  private static func split(
    _ blocks: Int, threads: Int, _ body: @escaping @Sendable (Int, Int) -> Void
  ) {
    if threads == 1 {
      body(0, blocks)
      return
    }
    let perThread = (blocks + threads - 1) / threads
    DispatchQueue.concurrentPerform(iterations: threads) { thread in
      let first = thread * perThread
      body(first, max(0, min(perThread, blocks - first)))
    }
  }
}

extension GGUFCodecsBench {
  /// What to measure (``GGUFCodecsCommand`` reads them from the command line).
  struct Options {
    var model = ".cache/models/SmolLM2-135M-Instruct.Q4_1.gguf"
    var miniLM = ".cache/models/all-MiniLM-L6-v2/model.safetensors"
    var runs = 5
    var int8Error = false
    var allTypes = false
  }

  /// The benchmark's data, in buffers that live for the whole run.
  final class Workload: @unchecked Sendable {
    /// The FFN tensors' Q4_1 bytes, concatenated in file order.
    let q4_1: UnsafeRawBufferPointer
    /// Q6_K blocks made from the same bytes.
    let q6_k: UnsafeRawBufferPointer
    /// The FFN tensors' values decoded to F32.
    let floats: UnsafeBufferPointer<Float>
    /// Room for every decoded value.
    let output: UnsafeMutableBufferPointer<Float>
    /// Room for the Q8_0 encoding of `floats`.
    let q8_0: UnsafeMutableRawBufferPointer
    /// The number of F32 values in the FFN tensors.
    let count: Int
    /// The number of values in the Q6_K blocks.
    let q6_kCount: Int
    /// The FFN tensors' shapes (rows, columns), for per-row measurements.
    let shapes: [(rows: Int, columns: Int)]
    /// Each FFN tensor's range of Q4_1 blocks.
    let tensorBlocks: [Range<Int>]

    /// Block ranges decoded one after another into the scratch buffer: the FFN tensors for
    /// Q4_1, and pieces of 4096 blocks (1 M values) for the made-up Q6_K data.
    func pieces(_ dtype: DType) -> [Range<Int>] {
      if dtype == .q4_1 { return tensorBlocks }
      let blocks = q6_kCount / 256
      return stride(from: 0, to: blocks, by: 4096).map { $0..<min(blocks, $0 + 4096) }
    }

    init(path: String) throws {
      let file = try GGUFFile(path: path)
      let ffn = file.tensors.filter { $0.dtype == .q4_1 && $0.name.contains("ffn_") }
      let byteCount = ffn.reduce(0) { $0 + $1.byteCount }
      let q4 = UnsafeMutableRawBufferPointer.allocate(byteCount: byteCount, alignment: 64)
      var offset = 0
      for info in ffn {
        file.tensor(info).withUnsafeBytes { raw in
          UnsafeMutableRawBufferPointer(rebasing: q4[offset..<(offset + raw.count)])
            .copyMemory(from: raw)
        }
        offset += info.byteCount
      }
      q4_1 = UnsafeRawBufferPointer(q4)
      count = byteCount / 20 * 32
      shapes = ffn.map { ($0.shape[0], $0.shape[1]) }
      var first = 0
      tensorBlocks = ffn.map { info in
        defer { first += info.byteCount / 20 }
        return first..<(first + info.byteCount / 20)
      }

      let q6Blocks = byteCount / 210
      let q6 = UnsafeMutableRawBufferPointer.allocate(byteCount: q6Blocks * 210, alignment: 64)
      q6.copyMemory(from: UnsafeRawBufferPointer(rebasing: q4_1[0..<(q6Blocks * 210)]))
      for block in 0..<q6Blocks {
        q6.storeBytes(
          of: (0x2000 | UInt16(block % 1024)).littleEndian, toByteOffset: block * 210 + 208,
          as: UInt16.self)
      }
      q6_k = UnsafeRawBufferPointer(q6)
      q6_kCount = q6Blocks * 256

      let values = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
      Dequantizer.dequantizeBlocks(
        .q4_1, from: q4_1.baseAddress!, blockCount: count / 32, into: values.baseAddress!)
      floats = UnsafeBufferPointer(values)
      let largest = tensorBlocks.map { $0.count * 32 }.max() ?? 0
      output = .allocate(capacity: max(largest, 4096 * 256))
      output.initialize(repeating: 0)
      q8_0 = .allocate(byteCount: count / 32 * 34, alignment: 64)
      q8_0.initializeMemory(as: UInt8.self, repeating: 0)
    }
  }
}
