import EMoECore

/// The outcome of a batch: one result per job, in manifest order whatever order they ran in.
public struct BatchSummary: Sendable, Encodable {
  /// The manifest's path as given.
  public var manifest: String
  /// The results, in manifest order.
  public var results: [BatchJobResult]
  /// Whether this was a dry run (nothing was written).
  public var dryRun: Bool

  /// Creates a summary.
  public init(manifest: String, results: [BatchJobResult], dryRun: Bool) {
    self.manifest = manifest
    self.results = results
    self.dryRun = dryRun
  }

  /// The number of jobs with `status`.
  public func count(_ status: BatchJobResult.Status) -> Int {
    results.count { $0.status == status }
  }

  /// Whether no job failed (and, outside a dry run, every job ran or was skipped).
  public var succeeded: Bool {
    count(.failed) == 0 && (dryRun || count(.notRun) == 0)
  }

  /// The summary as the `batch --json` document.
  public var json: JSONValue {
    // Encoding into a JSONValue cannot fail (no member throws, nor does the encoder).
    (try? JSONValueEncoder().encode(self)) ?? .object([])
  }

  /// One line per job and a closing count, for people.
  public var text: String {
    var lines: [String] = []
    for result in results {
      let verb: String
      switch result.status {
      case .converted: verb = "converted"
      case .skipped: verb = "skipped  "
      case .failed: verb = "FAILED   "
      case .notRun: verb = dryRun ? "would run" : "not run  "
      }
      var line = "\(verb) \(result.input) -> \(result.output)"
      switch result.status {
      case .converted: line += " (\(result.reason); \(Self.format(result.seconds)))"
      case .failed: line += ": \(result.error ?? result.reason)"
      case .skipped, .notRun: line += " (\(result.reason))"
      }
      lines.append(line)
    }
    var counts = [
      "\(count(.converted)) converted", "\(count(.skipped)) skipped", "\(count(.failed)) failed",
    ]
    counts.append("\(count(.notRun)) \(dryRun ? "would run" : "not run")")
    lines.append("\(results.count) jobs: " + counts.joined(separator: ", "))
    return lines.joined(separator: "\n") + "\n"
  }

  /// `1.2 s`.
  static func format(_ seconds: Double) -> String {
    let tenths = Int((seconds * 10).rounded())
    return "\(tenths / 10).\(tenths % 10) s"
  }
}

extension BatchSummary {
  enum CodingKeys: String, CodingKey {
    case manifest
    case dryRun = "dry_run"
    case ok, counts, jobs
  }

  enum CountKeys: String, CodingKey {
    case jobs, converted, skipped, failed
    case notRun = "not_run"
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(manifest, forKey: .manifest)
    try container.encode(dryRun, forKey: .dryRun)
    try container.encode(succeeded, forKey: .ok)
    var counts = container.nestedContainer(keyedBy: CountKeys.self, forKey: .counts)
    try counts.encode(results.count, forKey: .jobs)
    try counts.encode(count(.converted), forKey: .converted)
    try counts.encode(count(.skipped), forKey: .skipped)
    try counts.encode(count(.failed), forKey: .failed)
    try counts.encode(count(.notRun), forKey: .notRun)
    try container.encode(results, forKey: .jobs)
  }
}
