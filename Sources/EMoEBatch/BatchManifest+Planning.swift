import EMoEConvert
import EMoECore
import EMoEModel

extension BatchManifest {
  /// Plans every job against its model without converting anything (headers are read, no
  /// tensor data), so that an input that is not a model, options that do not fit it, or an
  /// output that would overwrite some job's input file are reported before any job starts.
  ///
  /// Key matrices are not scanned for NaN here (that reads them whole); a job whose keys hold
  /// NaN fails when it runs.
  ///
  /// - Throws: ``BatchManifestError`` naming the job's key that does not fit.
  public func checkPlans() throws(BatchManifestError) {
    var dependencies: [String: String] = [:]
    for job in jobs {
      let plan: ConversionPlan
      do {
        plan = try JobActions.plan(job, scanKeys: false)
      } catch {
        let key = key(for: error, in: job)
        let reason = key.hasPrefix(job.keyPath) ? "\(error)" : "in \(job.keyPath): \(error)"
        throw self.error(key, reason)
      }
      for (index, export) in job.exports.enumerated()
      where export.format == .gguf && plan.sourceFormat != "gguf" {
        throw error(
          "\(job.keyPath).export[\(index)].to",
          "a GGUF export needs a model read from a GGUF file (this input is \(plan.sourceFormat));"
            + " export it to safetensors")
      }
      for file in plan.dependencies {
        dependencies[PathIdentity.canonical(file)] = "\(job.keyPath).input"
      }
    }
    for job in jobs {
      let outputs =
        [(job.output, "\(job.keyPath).output")]
        + job.exports.enumerated().map { ($1.output, "\(job.keyPath).export[\($0)].output") }
        + (job.depfile.map { [($0, "\(job.keyPath).depfile")] } ?? [])
      for (path, key) in outputs {
        if let owner = dependencies[PathIdentity.canonical(path)] {
          throw error(key, "output path \(path) would overwrite a file read by \(owner)")
        }
      }
    }
  }

  /// The manifest key a planning error belongs to: the option that does not fit when the error
  /// says which, else the job's input.
  private func key(for error: ConversionError, in job: BatchJob) -> String {
    func option(_ name: String) -> String { job.optionKeys[name] ?? job.keyPath }
    switch error {
    case .model(let modelError):
      switch modelError {
      case .expertsDoNotDivide, .expertCountOutOfRange: return option("experts")
      case .topKOutOfRange: return option(job.optionKeys["top-k"] == nil ? "experts" : "top-k")
      case .layerOutOfRange, .selectionOutOfRange, .invalidLayerSpec: return option("layers")
      case .invalidPattern: return option("ffn-pattern")
      default: return "\(job.keyPath).input"
      }
    case .invalidOptions: return job.keyPath
    default: return "\(job.keyPath).input"
    }
  }
}
