import EMoEConvert

/// One conversion of a batch manifest, with its defaults applied and its paths resolved
/// against the manifest's folder.
public struct BatchJob: Sendable {
  /// The job's position in the manifest's `jobs` array.
  public var index: Int
  /// The input model (file, sharded index or folder).
  public var input: String
  /// The `.emoe` container to write.
  public var output: String
  /// The conversion options (the manifest's `defaults`, then the job's own keys).
  public var options: ConversionOptions
  /// Whether to verify the container against the input, with every default check of
  /// `emoe-pack verify`, before publishing it (`"verify": true`).
  public var verify: Bool
  /// Exports made from the container before it is published.
  public var exports: [BatchExport]
  /// A Make dependency file to write beside the output (`"depfile"`), if any.
  public var depfile: String?
  /// For each option the job sets, the manifest key path that set it (`jobs[2].top-k` or
  /// `defaults.experts`), so a problem found later names the right key.
  public var optionKeys: [String: String]

  /// Creates a job.
  public init(
    index: Int, input: String, output: String, options: ConversionOptions = ConversionOptions(),
    verify: Bool = false, exports: [BatchExport] = [], depfile: String? = nil,
    optionKeys: [String: String] = [:]
  ) {
    self.index = index
    self.input = input
    self.output = output
    self.options = options
    self.verify = verify
    self.exports = exports
    self.depfile = depfile
    self.optionKeys = optionKeys
  }

  /// The job's key path in the manifest, `jobs[N]`.
  public var keyPath: String { "jobs[\(index)]" }

  /// Every file the job writes: the container, its exports and its dependency file.
  public var outputs: [String] { [output] + exports.map(\.output) + (depfile.map { [$0] } ?? []) }

  /// Every output with its manifest key, and whether it is a folder (a safetensors export).
  var namedOutputs: [(path: String, key: String, isFolder: Bool)] {
    [(output, "\(keyPath).output", false)]
      + exports.enumerated().map {
        ($1.output, "\(keyPath).export[\($0)].output", $1.format == .safetensors)
      }
      + (depfile.map { [($0, "\(keyPath).depfile", false)] } ?? [])
  }
}
