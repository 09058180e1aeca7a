import EMoEConvert
import EMoECore

/// A parsed and checked batch manifest (`Formats/Batch.md`): the jobs to run, with defaults
/// applied and paths resolved against the manifest's folder.
///
/// Loading rejects, before anything runs, a manifest that is not JSON (naming line and column),
/// has a key or value of the wrong kind (naming its key path, `jobs[2].top-k`, and line), names
/// an input that does not exist, or names one output twice or an input as an output.
/// ``checkPlans()`` then plans every job against its model without converting anything.
public struct BatchManifest: Sendable {
  /// The manifest's path as given.
  public let path: String
  /// The folder that relative paths in the manifest are resolved against.
  public let directory: String
  /// The jobs, in manifest order.
  public let jobs: [BatchJob]
  let document: JSONDocument

  /// The keys a job may have besides the conversion options.
  static let jobKeys = ["input", "output", "verify", "export", "depfile"]

  /// Reads and checks the manifest at `path`.
  ///
  /// - Throws: ``BatchManifestError`` naming the first problem.
  public static func load(path: String) throws(BatchManifestError) -> BatchManifest {
    let bytes: [UInt8]
    do {
      let file = try MappedFile(path: path)
      bytes = Array(file.bytes)
    } catch {
      throw BatchManifestError(
        location: ErrorLocation(file: path), reason: "cannot read the manifest: \(error)",
        isIOFailure: !error.isWrongKind)
    }
    return try BatchManifest(text: bytes, path: path)
  }

  /// Parses and checks manifest text; relative paths are resolved against `path`'s folder.
  ///
  /// - Throws: ``BatchManifestError`` naming the first problem.
  public init(text: [UInt8], path: String) throws(BatchManifestError) {
    self.path = path
    directory = FileSystem.directory(of: path)
    do {
      document = try JSONDocument(parsing: text)
    } catch {
      let position = JSONDocument.lineAndColumn(in: text, of: error.offset)
      let reason =
        error.duplicateKey.map { "duplicate key '\($0)'" } ?? "invalid JSON: \(error.reason)"
      throw BatchManifestError(
        location: ErrorLocation(file: path, offset: error.offset), line: position.line,
        column: position.column, reason: reason)
    }
    let parser = Parser(path: path, directory: directory, document: document)
    jobs = try parser.jobs(document.root)
  }

  /// An error at the key path `key`, with its line and column.
  func error(_ key: String, _ reason: String) -> BatchManifestError {
    BatchManifestError.at(key, reason, path: path, document: document)
  }
}

extension BatchManifestError {
  /// The error for two claims on one file, at the output's key path (the conflict's label).
  static func conflict(_ conflict: PathConflict, path: String, document: JSONDocument)
    -> BatchManifestError
  {
    let spelled = conflict.otherPath == conflict.path ? "" : " (\(conflict.otherPath))"
    let reason =
      conflict.otherReads
      ? "output path \(conflict.path) would overwrite a file read by \(conflict.otherLabel)"
        + spelled
      : "duplicate output path \(conflict.path) (also written by \(conflict.otherLabel))"
    return at(conflict.label, reason, path: path, document: document)
  }

  /// An error at the key path `key` of the manifest at `path`, located through `document`'s
  /// positions.
  static func at(_ key: String, _ reason: String, path: String, document: JSONDocument)
    -> BatchManifestError
  {
    let offset = document.offset(ofKeyPath: key)
    let position = offset.map { document.lineAndColumn(of: $0) }
    return BatchManifestError(
      location: ErrorLocation(file: path, key: key, offset: offset), line: position?.line,
      column: position?.column, reason: reason)
  }
}

/// The structural checks of a manifest's JSON value.
private struct Parser {
  let path: String
  let directory: String
  let document: JSONDocument

  func error(_ key: String, _ reason: String) -> BatchManifestError {
    BatchManifestError.at(key, reason, path: path, document: document)
  }

  func jobs(_ root: JSONValue) throws(BatchManifestError) -> [BatchJob] {
    guard let members = root.objectValue else {
      throw error("", "the manifest must be a JSON object, not \(root.typeName)")
    }
    for member in members where !["$schema", "defaults", "jobs"].contains(member.key) {
      throw error(member.key, "unknown key '\(member.key)' (expected \"defaults\" and \"jobs\")")
    }
    var defaults = ConversionOptions()
    var defaultKeys: [String: String] = [:]
    var defaultVerify = false
    if let value = root["defaults"] {
      guard let settings = value.objectValue else {
        throw error("defaults", "must be an object, not \(value.typeName)")
      }
      for member in settings {
        let key = "defaults.\(member.key)"
        if member.key == "verify" {
          defaultVerify = try flag(member.value, key)
          continue
        }
        guard let name = Self.optionName(member.key) else {
          throw error(key, unknownKeyReason(member.key, perJob: false))
        }
        try set(&defaults, member, key)
        defaultKeys[name] = key
      }
    }
    guard let jobsValue = root["jobs"] else { throw error("", "missing key \"jobs\"") }
    guard let elements = jobsValue.arrayValue else {
      throw error("jobs", "must be an array, not \(jobsValue.typeName)")
    }
    var jobs: [BatchJob] = []
    for (index, element) in elements.enumerated() {
      jobs.append(
        try job(
          element, index: index, defaults: defaults, defaultKeys: defaultKeys,
          defaultVerify: defaultVerify))
    }
    try checkOutputs(jobs)
    return jobs
  }

  private func job(
    _ value: JSONValue, index: Int, defaults: ConversionOptions, defaultKeys: [String: String],
    defaultVerify: Bool
  ) throws(BatchManifestError) -> BatchJob {
    let base = "jobs[\(index)]"
    guard let members = value.objectValue else {
      throw error(base, "a job must be an object, not \(value.typeName)")
    }
    var options = defaults
    var optionKeys = defaultKeys
    var job = BatchJob(index: index, input: "", output: "", verify: defaultVerify)
    for member in members {
      let key = "\(base).\(member.key)"
      switch member.key {
      case "input": job.input = try self.path(member.value, key)
      case "output": job.output = try self.path(member.value, key)
      case "depfile": job.depfile = try self.path(member.value, key)
      case "verify": job.verify = try flag(member.value, key)
      case "export": job.exports = try exports(member.value, key)
      default:
        guard let name = Self.optionName(member.key) else {
          throw error(key, unknownKeyReason(member.key, perJob: true))
        }
        try set(&options, member, key)
        optionKeys[name] = key
      }
    }
    if job.input.isEmpty { throw error(base, "missing key \"input\"") }
    if job.output.isEmpty { throw error(base, "missing key \"output\"") }
    do {
      try options.validate()
    } catch {
      // Only the cross-option rules can fail here (each value was checked on its own): an
      // option that needs calibration without it, both bounds, or top-k above experts.
      let needing: [(Bool, String)] = [
        (options.clusterOn == .activations, "cluster-on"),
        (options.calibrationTokens != nil, "calibration-tokens"),
        (options.maxPerplexityIncrease != nil, "max-ppl-increase"),
        (options.minCosine != nil, "min-cosine"),
        (options.sharedNeurons != nil, "shared-neurons"),
      ]
      let culprit =
        options.calibration == nil
        ? needing.first { $0.0 }?.1
        : (options.maxPerplexityIncrease != nil && options.minCosine != nil ? "min-cosine" : nil)
      let key = optionKeys[culprit ?? "top-k"]
      throw self.error(key ?? base, "\(error)")
    }
    job.options = options
    job.optionKeys = optionKeys
    var isDirectory = false
    guard FileSystem.exists(job.input, isDirectory: &isDirectory) else {
      throw error("\(base).input", "input not found: \(job.input)")
    }
    return job
  }

  /// The option a manifest key sets (an old spelling such as `gate-bias` counts), or `nil`.
  private static func optionName(_ key: String) -> String? {
    if ConversionOptions.longOptionNames.contains(key) { return key }
    return ConversionOptions.longOptionAliases[key]
  }

  private func unknownKeyReason(_ key: String, perJob: Bool) -> String {
    let names = ConversionOptions.longOptionNames.joined(separator: ", ")
    let extra = perJob ? BatchManifest.jobKeys.joined(separator: ", ") + ", " : "verify, "
    if key == "json" {
      return "'json' is not a conversion option (`batch --json` prints the batch's summary)"
    }
    return "unknown key '\(key)' (expected \(extra)or one of convert's options: \(names))"
  }

  private func set(_ options: inout ConversionOptions, _ member: JSONMember, _ key: String)
    throws(BatchManifestError)
  {
    do {
      try options.set(longName: member.key, to: member.value)
    } catch {
      throw self.error(key, error.reason)
    }
    // The calibration text is a path like the input: relative to the manifest's folder.
    if member.key == "calibration", let text = options.calibration {
      guard !text.isEmpty, !text.unicodeScalars.contains("\u{0}") else {
        throw error(key, "must be a non-empty path")
      }
      options.calibration = FileSystem.join(directory, text)
    }
  }

  private func flag(_ value: JSONValue, _ key: String) throws(BatchManifestError) -> Bool {
    guard let bool = value.boolValue else {
      throw error(key, "must be true or false, not \(value.typeName)")
    }
    return bool
  }

  /// A non-empty path string, resolved against the manifest's folder.
  private func path(_ value: JSONValue, _ key: String) throws(BatchManifestError) -> String {
    guard let text = value.stringValue else {
      throw error(key, "must be a path string, not \(value.typeName)")
    }
    guard !text.isEmpty, !text.unicodeScalars.contains("\u{0}") else {
      throw error(key, "must be a non-empty path")
    }
    return FileSystem.join(directory, text)
  }

  private func exports(_ value: JSONValue, _ key: String) throws(BatchManifestError)
    -> [BatchExport]
  {
    guard let elements = value.arrayValue else {
      throw error(key, "must be an array of {\"to\", \"output\"} objects, not \(value.typeName)")
    }
    var exports: [BatchExport] = []
    for (index, element) in elements.enumerated() {
      let elementKey = "\(key)[\(index)]"
      guard let members = element.objectValue else {
        throw error(elementKey, "must be an object with \"to\" and \"output\"")
      }
      var format: BatchExport.Format?
      var output: String?
      var layout: (SafeTensorsExport.Layout, String)?
      var topK: (Int, String)?
      for member in members {
        let memberKey = "\(elementKey).\(member.key)"
        switch member.key {
        case "to":
          let names = BatchExport.Format.allCases.map { "\"\($0.rawValue)\"" }
          guard let name = member.value.stringValue, let chosen = BatchExport.Format(rawValue: name)
          else {
            throw error(memberKey, "must be one of \(names.joined(separator: ", "))")
          }
          format = chosen
        case "output": output = try path(member.value, memberKey)
        case "layout":
          guard let name = member.value.stringValue,
            let chosen = SafeTensorsExport.Layout(rawValue: name)
          else {
            throw error(memberKey, "must be \"dense\" or \"experts\"")
          }
          layout = (chosen, memberKey)
        case "top-k":
          guard let number = member.value.intValue, number >= 1 else {
            throw error(memberKey, "must be an integer of at least 1")
          }
          topK = (number, memberKey)
        default:
          throw error(
            memberKey,
            "unknown key '\(member.key)' (expected \"to\", \"output\", \"layout\" or \"top-k\")")
        }
      }
      guard let format else { throw error(elementKey, "missing key \"to\"") }
      guard let output else { throw error(elementKey, "missing key \"output\"") }
      if let layout, format != .safetensors {
        throw error(layout.1, "\"layout\" applies to \"to\": \"safetensors\" only")
      }
      if let topK, format != .gguf {
        throw error(topK.1, "\"top-k\" applies to \"to\": \"gguf\" only")
      }
      exports.append(
        BatchExport(format: format, output: output, layout: layout?.0 ?? .dense, topK: topK?.0))
    }
    return exports
  }

  /// Refuses two writers of one file, an output that is some job's input, and an output that
  /// is an existing folder (a safetensors export: an existing file).
  ///
  /// Paths are compared by what they resolve to (``EMoECore/PathClaims``). ``BatchManifest/checkPlans()`` repeats the identity
  /// check with every file each job reads.
  private func checkOutputs(_ jobs: [BatchJob]) throws(BatchManifestError) {
    var claims = PathClaims()
    do throws(PathConflict) {
      for job in jobs { try claims.read(job.input, as: "\(job.keyPath).input") }
      for job in jobs {
        for output in job.namedOutputs { try claims.write(output.path, as: output.key) }
      }
    } catch {
      throw BatchManifestError.conflict(error, path: path, document: document)
    }
    for job in jobs {
      for (path, key, isFolder) in job.namedOutputs {
        var isDirectory = false
        if FileSystem.exists(path, isDirectory: &isDirectory), isDirectory != isFolder {
          throw error(
            key,
            isFolder
              ? "output path \(path) is an existing file (a safetensors export writes a folder)"
              : "output path \(path) is an existing folder")
        }
      }
    }
  }
}
