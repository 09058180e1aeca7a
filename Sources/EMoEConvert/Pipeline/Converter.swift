import Dispatch
import EMoECore
import EMoEFormats
import EMoEModel
import EMoENumerics
import Synchronization

/// Runs a ``ConversionPlan``: streams the model layer by layer into an `.emoe` container.
///
/// Passthrough tensors are copied straight from the mapped input and their pages released
/// afterwards; each converted layer is read, clustered, permuted and written before the next
/// is touched, so resident memory stays near one FFN layer plus the clustering's working set
/// whatever the model's size. The container is written atomically: an error leaves no file.
/// Output bytes depend only on the input and the recorded options, not on the thread count.
public struct Converter: Sendable {
  /// The plan to run.
  public let plan: ConversionPlan
  /// The tool recorded in the container.
  public let tool: ContainerTool
  /// Where the source files' SHA-256 come from (each file version is hashed once per cache).
  public let digests: FileDigests

  /// Creates a converter for `plan`, recording `tool` as the writer.
  public init(plan: ConversionPlan, tool: ContainerTool, digests: FileDigests = .shared) {
    self.plan = plan
    self.tool = tool
    self.digests = digests
  }

  /// Converts into a container at `output`.
  ///
  /// - Parameter progress: called as phases start and layers finish (on the calling thread).
  /// - Returns: the summary of what was done. Its ``ConversionSummary/sha256`` is `nil`: the
  ///   output is not read back for a digest unless a caller needs one (`convert --json`).
  /// - Throws: ``ConversionError``; no file is left at `output` on error.
  public func run(output: String, progress: ((ConversionProgress) -> Void)? = nil)
    throws(ConversionError) -> ConversionSummary
  {
    let started = ContinuousClock.now
    func seconds() -> Double {
      let elapsed = ContinuousClock.now - started
      return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }
    let layerCount = plan.layers.count
    var layersDone = 0
    // Source tensor bytes copied or converted, for the rate; counted from the end of hashing.
    let bytesTotal = plan.steps.reduce(0) { total, step in
      switch step {
      case .passthrough(let info): total + info.byteCount
      case .layer(let position): total + Self.sourceBytes(of: plan.layers[position])
      }
    }
    var bytesDone = 0
    var movingSince = started
    func report(_ phase: ConversionProgress.Phase, layer: Int? = nil, within: Double = 0) {
      guard let progress else { return }
      let fraction =
        layerCount == 0
        ? (phase == .finishing
          ? 1 : bytesTotal == 0 ? 0 : min(1, Double(bytesDone) / Double(bytesTotal)))
        : min(1, (Double(layersDone) + within) / Double(layerCount))
      let moving = Self.seconds(since: movingSince)
      progress(
        ConversionProgress(
          phase: phase, layersDone: layersDone, layerCount: layerCount, layer: layer,
          elapsed: seconds(), fraction: fraction, bytesDone: bytesDone, bytesTotal: bytesTotal,
          bytesPerSecond: bytesDone > 0 && moving > 0 ? Double(bytesDone) / moving : nil))
    }

    try checkOutput(output)
    let previousThreads = BLAS.threadCount
    if let threads = plan.options.threads { BLAS.threadCount = threads }
    defer { BLAS.threadCount = previousThreads }

    let sourceFiles = try describeSources { hashed, total in
      guard let progress else { return }
      let elapsed = seconds()
      progress(
        ConversionProgress(
          phase: .hashing, layersDone: 0, layerCount: layerCount, elapsed: elapsed, fraction: 0,
          bytesDone: hashed, bytesTotal: total,
          bytesPerSecond: hashed > 0 && elapsed > 0 ? Double(hashed) / elapsed : nil))
    }
    movingSince = ContinuousClock.now
    let writer: ContainerWriter
    do {
      writer = try ContainerWriter(
        path: output, plan: plan.containerPlan(sourceFiles: sourceFiles, tool: tool))
    } catch {
      throw .container(error)
    }
    var layers: [ConversionSummary.Layer] = []
    do throws(ConversionError) {
      for step in plan.steps {
        switch step {
        case .passthrough(let info):
          try copy(info, into: writer)
          bytesDone += info.byteCount
          report(.copying)
        case .layer(let position):
          let planned = plan.layers[position]
          let conversion = LayerConversion(layer: planned, options: plan.options)
          let summary = try conversion.run(into: writer) { phase in
            let within: Double =
              switch phase {
              case .readingKeys: 0.02
              case .clustering: 0.1
              case .permuting, .writing: 0.8
              default: 0
              }
            report(phase, layer: planned.index, within: within)
          }
          layers.append(summary)
          layersDone += 1
          bytesDone += Self.sourceBytes(of: planned)
          report(.copying)
        }
      }
      report(.finishing)
      do {
        try writer.commit()
      } catch {
        throw ConversionError.container(error)
      }
    } catch {
      writer.abort()
      throw error
    }
    layers.sort { $0.layer < $1.layer }
    return ConversionSummary(
      output: output, sha256: nil, input: plan.inputPath,
      architecture: plan.architecture.summary, options: plan.options.json, layers: layers,
      changedTensors: plan.changedTensors.map {
        ConversionSummary.ChangedTensor(name: $0.name, source: $0.source, values: $0.values)
      },
      seconds: seconds(), peakResidentBytes: Self.peakResidentBytes(),
      bytesIn: sourceFiles.reduce(0) { $0 + $1.size }, bytesOut: FileSystem.size(output) ?? 0)
  }

  /// Refuses an output that would overwrite one of the inputs.
  private func checkOutput(_ output: String) throws(ConversionError) {
    do throws(OutputRefusal) {
      try OutputSafety.check(
        inputs: plan.dependencies.map { ($0, "the input file \($0)") },
        outputs: [(output, "the output")])
    } catch {
      throw .io(.refused(error))
    }
  }

  /// Names, sizes and SHA-256 of the source files, shards hashed in parallel.
  ///
  /// `progress` is told the bytes hashed and the bytes in all, on the calling thread, about ten
  /// times a second while the hashing runs on others.
  private func describeSources(progress: (_ hashed: Int, _ total: Int) -> Void)
    throws(ConversionError) -> [ContainerSourceFile]
  {
    let files = plan.source.files
    let digests = digests
    let results = SourceHashes(count: files.count)
    let total = files.reduce(0) { $0 + (FileSystem.size($1) ?? 0) }
    let finished = DispatchGroup()
    finished.enter()
    DispatchQueue.global().async {
      DispatchQueue.concurrentPerform(iterations: files.count) { index in
        results.set(
          index,
          Result { () throws(FileError) in
            try ContainerSourceFile.describing(
              path: files[index], digests: digests, progress: { results.add(bytes: $0) })
          })
      }
      finished.leave()
    }
    progress(0, total)
    while finished.wait(timeout: .now() + .milliseconds(100)) == .timedOut {
      progress(results.bytes, total)
    }
    progress(results.bytes, total)
    var descriptions: [ContainerSourceFile] = []
    for result in results.values {
      switch result {
      case .success(let description): descriptions.append(description)
      case .failure(let error): throw .io(error)
      case nil: throw .io(FileError(path: plan.source.path, operation: "hash", code: EIO))
      }
    }
    return descriptions
  }

  /// Copies a passthrough tensor from the mapped source, then releases its pages.
  private func copy(_ info: TensorInfo, into writer: ContainerWriter) throws(ConversionError) {
    let tensor: Tensor
    do {
      tensor = try plan.source.tensor(named: info.name)
    } catch {
      throw .reading(error)
    }
    defer { KeyReader.release(tensor) }
    try KeyReader.checkFinite(tensor, file: plan.source.path, layer: nil)
    do {
      try writer.append(tensor)
    } catch {
      throw .container(error)
    }
  }

  /// The bytes of a planned layer's FFN tensors in the source.
  private static func sourceBytes(of layer: ConversionPlan.Layer) -> Int {
    layer.ffn.members.reduce(0) { $0 + $1.info.byteCount }
  }

  /// Seconds from `start` to now.
  private static func seconds(since start: ContinuousClock.Instant) -> Double {
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
  }

  /// The process's peak resident set size in bytes.
  public static func peakResidentBytes() -> Int { POSIX.peakResidentBytes() }

}

/// Per-file hashing results and the bytes hashed so far, filled in from several threads.
private final class SourceHashes: Sendable {
  private let results: Mutex<[Result<ContainerSourceFile, FileError>?]>
  private let hashed = Atomic<Int>(0)

  init(count: Int) { results = Mutex(Array(repeating: nil, count: count)) }

  func set(_ index: Int, _ result: Result<ContainerSourceFile, FileError>) {
    results.withLock { $0[index] = result }
  }

  func add(bytes: Int) { hashed.add(bytes, ordering: .relaxed) }

  var values: [Result<ContainerSourceFile, FileError>?] { results.withLock { $0 } }

  var bytes: Int { hashed.load(ordering: .relaxed) }
}
