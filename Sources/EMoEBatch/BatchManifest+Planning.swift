import EMoEConvert
import EMoECore
import EMoEModel

extension BatchManifest {
  /// Plans every job against its model without converting anything (headers are read, no
  /// tensor data), so that an input that is not a model, options that do not fit it, or an
  /// output that is not safe to write are reported before any job starts: one that is, or
  /// resolves to, a file some job reads or another output, that is not a regular writable file,
  /// an export folder holding a checkpoint emoe-pack did not write, or a depfile whose paths
  /// Make cannot read.
  ///
  /// Key matrices are not scanned for NaN here (that reads them whole); a job whose keys hold
  /// NaN fails when it runs.
  ///
  /// - Throws: ``BatchManifestError`` naming the job's key that does not fit.
  ///
  /// Checks are of the paths as they are now; a file made after this check is caught when the
  /// job writes (``EMoECore/AtomicFileWriter`` refuses a non-regular destination).
  public func checkPlans() throws(BatchManifestError) {
    var planned: [(job: BatchJob, plan: ConversionPlan)] = []
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
      where export.format == .gguf && plan.sourceFormat != .gguf {
        throw error(
          "\(job.keyPath).export[\(index)].to",
          "a GGUF export needs a model read from a GGUF file (this input is \(plan.sourceFormat.rawValue));"
            + " export it to safetensors")
      }
      planned.append((job, plan))
    }
    try checkIdentities(planned)
    for (job, plan) in planned {
      for output in job.namedOutputs {
        do throws(OutputRefusal) {
          if output.isFolder {
            try ExportSafety.checkFolder(output.path, writing: nil)
          } else {
            try OutputSafety.checkReplaceable(output.path)
          }
        } catch {
          throw self.error(output.key, "\(error)")
        }
      }
      if job.depfile != nil {
        do {
          _ = try DependencyFile.text(target: job.output, prerequisites: plan.dependencies)
        } catch {
          throw self.error("\(job.keyPath).depfile", "\(error)")
        }
      }
    }
  }

  /// Refuses any output of any job that is, or resolves to (symbolic links, `..`, hard links),
  /// a file some job reads (input, shard, index, `config.json`), the manifest, or another
  /// output; a safetensors export folder claims itself, the files it usually writes, and every
  /// checkpoint file some job reads from it.
  private func checkIdentities(_ planned: [(job: BatchJob, plan: ConversionPlan)])
    throws(BatchManifestError)
  {
    var claims = PathClaims()
    do throws(PathConflict) {
      try claims.read(path, as: "the manifest")
      for (job, plan) in planned {
        for file in plan.dependencies { try claims.read(file, as: "\(job.keyPath).input") }
      }
      for (job, _) in planned {
        for output in job.namedOutputs {
          try claims.write(output.path, as: output.key)
          guard output.isFolder else { continue }
          for name in ExportSafety.usualFolderFiles {
            try claims.write(FileSystem.join(output.path, name), as: output.key)
          }
        }
      }
    } catch {
      throw BatchManifestError.conflict(error, path: path, document: document)
    }
    for (job, _) in planned {
      for output in job.namedOutputs where output.isFolder {
        let folder = FileIdentity(path: output.path)
        for (reader, plan) in planned {
          for file in plan.dependencies
          where ExportSafety.isCheckpointName(FileSystem.basename(of: file))
            && FileIdentity(path: FileSystem.directory(of: file)).isSameFile(as: folder)
          {
            throw error(
              output.key,
              "export folder \(output.path) holds \(file), read by \(reader.keyPath).input, "
                + "which the export could replace or shadow")
          }
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
