import EMoEConvert
import EMoECore
import EMoEFormats
import EMoENumerics
import Foundation
import Synchronization

/// Runs the jobs of a checked ``BatchManifest``: up to ``BatchSettings/jobs`` at once, each
/// skipped when its output is up to date, and each published atomically.
///
/// A job writes its container under a hidden staging name beside the output
/// (`.NAME.batch-PID-N.partial`, registered with ``EMoECore/TemporaryFiles`` so a signal removes
/// it), verifies it when asked, writes its exports from it under hidden staging names too, and
/// only then publishes them together (``JobCommit``): the old container is removed, the exports
/// are renamed into place, and the new container is renamed last. The container is therefore
/// the job's commit record: when it exists with matching provenance, its exports were written
/// from it and it passed verification; a batch that fails or is killed at any point leaves
/// finished jobs' outputs valid and unfinished ones absent, as they were, or without a
/// container (so the next run converts them again).
///
/// The bytes of every output depend only on the job (the converter's output does not depend
/// on the thread count), and results come back in manifest order, so nothing but timing depends
/// on ``BatchSettings/jobs``.
public final class BatchRunner: Sendable {
  /// The manifest whose jobs run.
  public let manifest: BatchManifest
  /// How they run.
  public let settings: BatchSettings
  /// The writer recorded in containers, and required of existing ones to skip a job.
  public let tool: ContainerTool

  /// The SHA-256 of inputs and outputs, shared by every job and freshness check, so that a
  /// file several jobs read is hashed once.
  public let digests: FileDigests
  private let state: Mutex<State>

  private struct State {
    var next = 0
    var stop = false
    var running = 0
    var done = 0
    var failed = 0
    var skipped = 0
    var results: [BatchJobResult?]
  }

  /// Creates a runner whose jobs take files' SHA-256 from `digests`.
  public init(
    manifest: BatchManifest, settings: BatchSettings, tool: ContainerTool,
    digests: FileDigests = .shared
  ) {
    self.manifest = manifest
    self.settings = settings
    self.tool = tool
    self.digests = digests
    state = Mutex(State(results: Array(repeating: nil, count: manifest.jobs.count)))
  }

  /// Runs every job and returns the results in manifest order.
  ///
  /// - Parameter progress: called (serially, from worker threads) when a job starts or
  ///   finishes.
  public func run(progress: @escaping @Sendable (BatchProgress) -> Void = { _ in })
    -> BatchSummary
  {
    let jobs = manifest.jobs
    let workers = min(settings.jobs, jobs.count)
    let previousBLASThreads = BLAS.threadCount
    // OpenBLAS's thread count is process-wide: every job gets the same share, so a converter
    // restoring "its" previous value restores this one.
    if !settings.dryRun { BLAS.threadCount = settings.threadsPerJob }
    defer { if !settings.dryRun { BLAS.threadCount = previousBLASThreads } }

    let group = DispatchGroup()
    for _ in 0..<workers {
      group.enter()
      let thread = Thread { [self] in
        work(jobs, progress: progress)
        group.leave()
      }
      thread.stackSize = 16 << 20
      thread.start()
    }
    group.wait()

    let results = state.withLock { state in
      state.results.enumerated().map { index, result in
        result
          ?? BatchJobResult(
            index: index, input: jobs[index].input, output: jobs[index].output, status: .notRun,
            reason: "not started: an earlier job failed")
      }
    }
    return BatchSummary(manifest: manifest.path, results: results, dryRun: settings.dryRun)
  }

  /// One worker: takes the next job until none is left or the batch stops.
  private func work(_ jobs: [BatchJob], progress: @Sendable (BatchProgress) -> Void) {
    while true {
      let taken: Int? = state.withLock { state in
        guard !state.stop, state.next < jobs.count else { return nil }
        defer { state.next += 1 }
        state.running += 1
        progress(snapshot(state, .started(state.next), total: jobs.count))
        return state.next
      }
      guard let index = taken else { return }
      let result = run(jobs[index])
      state.withLock { state in
        state.results[index] = result
        state.running -= 1
        state.done += 1
        if result.status == .failed {
          state.failed += 1
          if !settings.keepGoing { state.stop = true }
        }
        if result.status == .skipped { state.skipped += 1 }
        progress(snapshot(state, .finished(result), total: jobs.count))
      }
    }
  }

  private func snapshot(_ state: State, _ event: BatchProgress.Event, total: Int) -> BatchProgress {
    BatchProgress(
      event: event, total: total, done: state.done, running: state.running,
      failed: state.failed, skipped: state.skipped)
  }

  /// Runs one job: the up-to-date check, then conversion, verification, exports, publication.
  private func run(_ job: BatchJob) -> BatchJobResult {
    let started = ContinuousClock.now
    func result(
      _ status: BatchJobResult.Status, _ reason: String, error: String? = nil,
      bytes: Int? = nil, sha256: String? = nil
    ) -> BatchJobResult {
      let elapsed = ContinuousClock.now - started
      let seconds =
        Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
      return BatchJobResult(
        index: job.index, input: job.input, output: job.output, status: status, reason: reason,
        seconds: seconds, outputBytes: bytes, outputSHA256: sha256, error: error)
    }

    let freshness: JobFreshness =
      settings.force
      ? .stale("forced (--force)") : JobFreshness.check(job, tool: tool, digests: digests)
    let reason: String
    switch freshness {
    case .stale(let why):
      reason = why
    case .upToDate:
      let sha256 = settings.outputDigests ? try? digests.sha256(ofFile: job.output) : nil
      if !settings.dryRun {
        do {
          let plan = try JobActions.plan(job, scanKeys: false)
          try JobActions.writeDependencyFile(job, prerequisites: plan.dependencies)
        } catch {
          return result(.failed, "up to date", error: "\(error)")
        }
      }
      return result(.skipped, "up to date", bytes: FileSystem.size(job.output), sha256: sha256)
    }
    if settings.dryRun { return result(.notRun, reason) }

    let staging = Self.stagingPath(for: job)
    TemporaryFiles.track(staging)
    var commit = JobCommit(container: .init(staged: staging, final: job.output))
    defer { commit.discard() }
    do throws(BatchJobError) {
      try Self.makeFolders(FileSystem.directory(of: job.output))
      let (plan, summary) = try wrap { () throws(ConversionError) in
        try JobActions.convert(
          job, to: staging, threads: settings.threadsPerJob, tool: tool, digests: digests)
      }
      if job.verify, let failure = JobActions.verify(staging, job: job, digests: digests) {
        throw BatchJobError(failure)
      }
      for (index, export) in job.exports.enumerated() {
        let target = Self.stagingPath(for: export.output, job: job, export: index)
        try Self.makeFolders(FileSystem.directory(of: export.output))
        if export.format == .safetensors {
          TemporaryFiles.track(target)
          commit.folders.append(.init(staged: target, final: export.output))
        }
        // Each file is tracked (and recorded for the commit) before it is written, so a signal
        // or a failure midway removes it.
        _ = try wrap { () throws(ConversionError) in
          try JobActions.export(export, from: staging, to: target) { file in
            TemporaryFiles.track(file)
            let final =
              export.format == .safetensors
              ? FileSystem.join(export.output, FileSystem.basename(of: file)) : export.output
            commit.files.append(.init(staged: file, final: final))
          }
        }
      }
      try commit.publish()
      try wrap { () throws(ConversionError) in
        try JobActions.writeDependencyFile(job, prerequisites: plan.dependencies)
      }
      // The output is read back for its digest only when the summary reports it (--json).
      let sha256 = settings.outputDigests ? try? digests.sha256(ofFile: job.output) : nil
      return result(.converted, reason, bytes: summary.bytesOut, sha256: sha256)
    } catch {
      // Messages name the files the user knows, not the staging names.
      var message = error.description.replacingOccurrences(of: staging, with: job.output)
      for folder in commit.folders {
        message = message.replacingOccurrences(of: folder.staged, with: folder.final)
      }
      for file in commit.files {
        message = message.replacingOccurrences(of: file.staged, with: file.final)
      }
      return result(.failed, reason, error: message)
    }
  }

  private func wrap<T>(_ body: () throws(ConversionError) -> T) throws(BatchJobError) -> T {
    do {
      return try body()
    } catch {
      throw BatchJobError("\(error)")
    }
  }

  /// The hidden name a job's container is staged under, beside its output so the final rename
  /// stays on one file system.
  static func stagingPath(for job: BatchJob) -> String {
    let folder = FileSystem.directory(of: job.output)
    let name = FileSystem.basename(of: job.output)
    return FileSystem.join(folder, ".\(name).batch-\(getpid())-\(job.index).partial")
  }

  /// The hidden file (GGUF) or folder (safetensors) export `index` of `job` is staged in,
  /// beside `output`.
  static func stagingPath(for output: String, job: BatchJob, export index: Int) -> String {
    let folder = FileSystem.directory(of: output)
    let name = FileSystem.basename(of: output)
    return FileSystem.join(
      folder, ".\(name).batch-\(getpid())-\(job.index)-\(index).partial")
  }

  /// Renames the finished staging file over `output` and syncs the folder so the rename lasts.
  static func publish(_ staging: String, as output: String) throws(BatchJobError) {
    guard rename(staging, output) == 0 else {
      throw BatchJobError("\(FileError.fromErrno(output, "rename the finished container to"))")
    }
    let folder = open(FileSystem.directory(of: output), O_RDONLY)
    if folder >= 0 {
      fsync(folder)
      close(folder)
    }
  }

  /// Creates `path` and its missing parents.
  static func makeFolders(_ path: String) throws(BatchJobError) {
    guard !path.isEmpty, path != ".", path != "/", !FileSystem.exists(path) else { return }
    try makeFolders(FileSystem.directory(of: path))
    if mkdir(path, 0o755) != 0 && errno != EEXIST {
      throw BatchJobError("\(FileError.fromErrno(path, "create the folder"))")
    }
  }
}
