import EMoECore

/// What happened to one job of a batch.
public struct BatchJobResult: Sendable, Equatable {
  /// The outcome of a job.
  public enum Status: String, Sendable {
    /// The job ran and its output (and exports) were published.
    case converted
    /// The output was already up to date.
    case skipped
    /// The job ran and failed; its output was left as it was.
    case failed
    /// The job did not run: the batch stopped after a failure, or it was a dry run.
    case notRun = "not-run"
  }

  /// The job's position in the manifest.
  public var index: Int
  /// The input path (resolved against the manifest's folder).
  public var input: String
  /// The container path (resolved against the manifest's folder).
  public var output: String
  /// The outcome.
  public var status: Status
  /// Why the job ran or was skipped (`no output yet`, `up to date`, `options changed: ...`).
  public var reason: String
  /// Wall-clock seconds spent on the job, including the up-to-date check.
  public var seconds: Double
  /// The container's size, when it exists after the job.
  public var outputBytes: Int?
  /// The container's SHA-256, when it exists after the job and digests were asked for.
  public var outputSHA256: String?
  /// The error of a failed job.
  public var error: String?

  /// Creates a result.
  public init(
    index: Int, input: String, output: String, status: Status, reason: String,
    seconds: Double = 0, outputBytes: Int? = nil, outputSHA256: String? = nil,
    error: String? = nil
  ) {
    self.index = index
    self.input = input
    self.output = output
    self.status = status
    self.reason = reason
    self.seconds = seconds
    self.outputBytes = outputBytes
    self.outputSHA256 = outputSHA256
    self.error = error
  }

  /// The result as one JSON object of the `batch --json` summary.
  public var json: JSONValue {
    // Encoding into a JSONValue cannot fail (no member throws, nor does the encoder).
    (try? JSONValueEncoder().encode(self)) ?? .object([])
  }
}

extension BatchJobResult: Encodable {
  enum CodingKeys: String, CodingKey {
    case input, output, status, reason, seconds, skipped
    case outputBytes = "output_bytes"
    case outputSHA256 = "output_sha256"
    case error
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(input, forKey: .input)
    try container.encode(output, forKey: .output)
    try container.encode(status.rawValue, forKey: .status)
    try container.encode(reason, forKey: .reason)
    try container.encode((seconds * 1000).rounded() / 1000, forKey: .seconds)
    try container.encode(status == .skipped, forKey: .skipped)
    try container.encode(outputBytes, forKey: .outputBytes)
    try container.encode(outputSHA256, forKey: .outputSHA256)
    try container.encodeIfPresent(error, forKey: .error)
  }
}
