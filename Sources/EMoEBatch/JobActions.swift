import EMoECalibrate
import EMoEConvert
import EMoECore
import EMoEFormats
import EMoEVerify

/// The one place a batch calls the conversion library: planning, converting, verifying and
/// exporting one job, exactly as `convert`, `verify` and `export` do.
enum JobActions {
  /// Plans `job` (see ``EMoEConvert/ConversionPlan``).
  ///
  /// A job with `calibration` is planned as the conversion calibration starts from (its
  /// groupings exist only once the calibration has run), with the calibration text among its
  /// inputs.
  static func plan(_ job: BatchJob, scanKeys: Bool = true) throws(ConversionError)
    -> ConversionPlan
  {
    guard let text = job.options.calibration else {
      return try ConversionPlan(input: job.input, options: job.options, scanKeys: scanKeys)
    }
    var plan = try ConversionPlan(
      input: job.input, options: job.options.calibrationCandidates, scanKeys: scanKeys)
    plan.dependencies.append(text)
    return plan
  }

  /// Converts `job` into a container at `path` with at most `threads` threads, taking the
  /// inputs' SHA-256 from `digests`.
  static func convert(
    _ job: BatchJob, to path: String, threads: Int, tool: ContainerTool, digests: FileDigests
  ) throws(ConversionError) -> (plan: ConversionPlan, summary: ConversionSummary) {
    var options = job.options
    options.threads = min(options.threads ?? threads, threads)
    var plan: ConversionPlan
    if let request = CalibrationRequest(options: options) {
      // The same steps as `convert --calibration`: group on the text, then plan with the groupings.
      let candidates = try ConversionPlan(input: job.input, options: options.calibrationCandidates)
      let result: CalibrationResult
      do {
        result = try Calibrator.calibrate(plan: candidates, request: request)
      } catch {
        throw .invalidOptions("calibration on \(request.text): \(error)")
      }
      plan = try ConversionPlan(input: job.input, options: options, groupings: result.groupings)
      plan.calibration = result.record
    } else {
      plan = try ConversionPlan(input: job.input, options: options)
    }
    let summary = try Converter(plan: plan, tool: tool, digests: digests).run(output: path)
    return (plan, summary)
  }

  /// Verifies the container at `path` against the job's input exactly as `emoe-pack verify
  /// --source INPUT` does (``EMoEVerify/Verifier`` with its default checks): integrity, finite
  /// values, every converted layer against the source, equivalence at k = E, and the sparse
  /// path against the masked reference at the recorded top-k.
  ///
  /// The source is the job's input rather than files beside the container: a batch writes its
  /// containers to their own folders, and the staged file must be checked before it is
  /// published.
  ///
  /// - Returns: `nil` when no check fails, else a description of the failed checks.
  static func verify(_ path: String, job: BatchJob, digests: FileDigests) -> String? {
    let report: VerificationReport
    do {
      report = try Verifier(options: VerificationOptions(source: job.input), digests: digests)
        .verify(path: path)
    } catch {
      return "\(error)"
    }
    guard let deciding = report.decidingFailure else { return nil }
    let failed = report.failures.map { "\($0.name): \($0.detail)" }
    return "verify failed (\(deciding.rawValue)): " + failed.joined(separator: "; ")
  }

  /// Writes `export` from the container at `container` (`emoe-pack export`) to `target`
  /// instead of the export's own path: the hidden staging file or folder of a batch job.
  ///
  /// - Parameter staged: called with each file's path before it is written, so the caller can
  ///   track it for removal on a signal.
  /// - Returns: the files written.
  static func export(
    _ export: BatchExport, from container: String, to target: String,
    staged: (String) -> Void = { _ in }
  ) throws(ConversionError) -> [String] {
    let file: ContainerFile
    do {
      file = try ContainerFile(path: container)
    } catch {
      throw .container(error)
    }
    switch export.format {
    case .safetensors:
      let exporter = SafeTensorsExport(container: file, layout: export.layout)
      for name in try exporter.fileNames() { staged(FileSystem.join(target, name)) }
      return try exporter.write(to: target)
    case .gguf:
      staged(target)
      _ = try GGUFExport(container: file, expertsUsed: export.topK).write(to: target)
      return [target]
    }
  }

  /// Writes the job's Make dependency file unless it already holds exactly that rule.
  static func writeDependencyFile(_ job: BatchJob, prerequisites: [String])
    throws(ConversionError)
  {
    guard let depfile = job.depfile else { return }
    let text = try DependencyFile.text(target: job.output, prerequisites: prerequisites)
    if let existing = try? MappedFile(path: depfile),
      Array(existing.bytes) == Array(text.utf8)
    {
      return
    }
    try DependencyFile.write(to: depfile, target: job.output, prerequisites: prerequisites)
  }
}
