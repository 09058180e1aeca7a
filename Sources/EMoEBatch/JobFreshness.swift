import EMoEConvert
import EMoECore
import EMoEFormats

/// Whether a job's output already is what running the job would write, and if not, why.
public enum JobFreshness: Sendable, Equatable {
  /// The output exists and its recorded provenance matches the job: nothing to do.
  case upToDate
  /// The job must run; the reason reads as a short phrase (`options changed: top_k 4 → 2`).
  case stale(String)

  /// Checks `job` against its existing output.
  ///
  /// A container is up to date when all of these hold, checked cheapest first:
  /// 1. it exists and opens as a valid container;
  /// 2. it was written by `tool` (name and version);
  /// 3. its recorded options equal the job's canonical options;
  /// 4. every export output is present;
  /// 5. the input's files have the recorded names and sizes, and its `config.json` the
  ///    recorded content;
  /// 6. every input file's SHA-256 equals the recorded one (sizes are compared first so a
  ///    changed size costs no hashing, but equal sizes are never trusted on their own);
  /// 7. for a job with `calibration`, the text's SHA-256 equals the one the container's
  ///    `calibration` records;
  /// 8. for a job with `verify`, the container passes every check of `emoe-pack verify`
  ///    against the input (``JobActions/verify(_:job:digests:)``).
  static func check(_ job: BatchJob, tool: ContainerTool, digests: FileDigests)
    -> JobFreshness
  {
    guard FileSystem.exists(job.output) else { return .stale("no output yet") }
    let container: ContainerFile
    do {
      container = try ContainerFile(path: job.output)
    } catch {
      return .stale("the existing output is not a valid container (\(error))")
    }
    let manifest = container.manifest
    guard manifest.tool == tool else {
      return .stale("written by \(manifest.tool.name) \(manifest.tool.version)")
    }
    // Read back through ConversionOptions, so a container that records an option under its old
    // name (`gate_bias`) is not stale for that alone.
    let recordedOptions = (try? ConversionOptions(json: manifest.options))?.json ?? manifest.options
    if let change = optionChange(recorded: recordedOptions, wanted: job.options.json) {
      return .stale("options changed: \(change)")
    }
    for export in job.exports where !export.isPresent {
      return .stale("export \(export.output) is missing")
    }
    let source: any ModelSource
    do {
      source = try ModelInput.open(job.input).source
    } catch {
      return .stale("cannot read the input (\(error))")
    }
    let recorded = manifest.source.files
    let files = source.files
    guard recorded.map(\.name) == files.map({ FileSystem.basename(of: $0) }) else {
      return .stale("the input's files changed")
    }
    for (file, record) in zip(files, recorded) where FileSystem.size(file) != record.size {
      return .stale("input \(FileSystem.basename(of: file)) changed size")
    }
    guard manifest.source.config.map(sortedKeys) == source.config.map(sortedKeys) else {
      return .stale("config.json changed")
    }
    for (file, record) in zip(files, recorded) {
      guard let digest = try? digests.sha256(ofFile: file) else {
        return .stale("cannot read input \(file)")
      }
      if digest != record.sha256 {
        return .stale("input \(FileSystem.basename(of: file)) changed (SHA-256 differs)")
      }
    }
    if let text = job.options.calibration {
      let recordedDigest = manifest.calibration?.objectValue?.first { $0.key == "sha256" }?.value
        .stringValue
      guard let digest = try? digests.sha256(ofFile: text) else {
        return .stale("cannot read the calibration text \(text)")
      }
      if digest != recordedDigest {
        return .stale("calibration text \(FileSystem.basename(of: text)) changed (SHA-256 differs)")
      }
    }
    if job.verify, let failure = JobActions.verify(job.output, job: job, digests: digests) {
      return .stale("the existing output fails verification (\(failure))")
    }
    return .upToDate
  }

  /// The options that differ, as `top_k 4 → 2, seed 0 → 1`, or `nil` when they are equal
  /// (member order aside).
  static func optionChange(recorded: JSONValue, wanted: JSONValue) -> String? {
    guard sortedKeys(recorded) != sortedKeys(wanted) else { return nil }
    let old = recorded.objectValue ?? []
    let new = wanted.objectValue ?? []
    var keys = new.map(\.key)
    for member in old where !keys.contains(member.key) { keys.append(member.key) }
    let changes = keys.compactMap { key -> String? in
      let before = recorded[key]
      let after = wanted[key]
      guard before.map(sortedKeys) != after.map(sortedKeys) else { return nil }
      let text = { (value: JSONValue?) in value?.serialized() ?? "(absent)" }
      return "\(key) \(text(before)) → \(text(after))"
    }
    return changes.isEmpty ? "recorded options differ" : changes.joined(separator: ", ")
  }

  /// `value` with every object's members sorted by key, so that member order does not count.
  static func sortedKeys(_ value: JSONValue) -> JSONValue {
    switch value {
    case .object(let members):
      .object(
        members.map { JSONMember($0.key, sortedKeys($0.value)) }.sorted { $0.key < $1.key })
    case .array(let elements): .array(elements.map(sortedKeys))
    default: value
    }
  }
}
