import EMoEConvert
import EMoECore

/// Every output of one job, staged under hidden names beside where it goes, and published
/// together so that no failure leaves a state a later run calls up to date.
///
/// The container is the job's commit record (``JobFreshness`` trusts the exports only when the
/// container's provenance matches), so publishing a job with exports removes the old container
/// first, renames the exports into place, and renames the new container last: a failure or a crash in between
/// leaves no container, and the next run converts the job again instead of keeping exports
/// that another manifest wrote.
struct JobCommit {
  /// One staged file and its final path.
  struct StagedFile {
    var staged: String
    var final: String
  }

  /// The staged container and the job's output path.
  var container: StagedFile
  /// The staged export files (a GGUF file, or the files of a safetensors folder).
  var files: [StagedFile] = []
  /// The hidden folders safetensors exports were staged in, with the export folder each
  /// stands for.
  var folders: [StagedFile] = []

  /// Publishes everything, checking first (before anything is replaced) that every final
  /// export path may be replaced and that no export folder holds a checkpoint file this export
  /// does not write.
  func publish() throws(BatchJobError) {
    do throws(OutputRefusal) {
      for folder in folders {
        let names = files.filter { FileSystem.directory(of: $0.staged) == folder.staged }
          .map(\.final)
        try ExportSafety.checkFolder(folder.final, writing: names)
      }
      for file in files { try OutputSafety.checkReplaceable(file.final) }
      try OutputSafety.checkReplaceable(container.final)
    } catch {
      throw BatchJobError("\(error)")
    }
    let containerMode = OutputSafety.preservedMode(of: container.final)
    // Without exports the final rename replaces the old container atomically; with them the
    // old record must go before any export changes.
    if !files.isEmpty {
      if unlink(container.final) != 0 && errno != ENOENT {
        throw BatchJobError("\(FileError.fromErrno(container.final, "remove the old container"))")
      }
      Self.syncFolder(of: container.final)
    }
    var synced = Set<String>()
    for file in files {
      try BatchRunner.makeFolders(FileSystem.directory(of: file.final))
      if let mode = OutputSafety.preservedMode(of: file.final) { chmod(file.staged, mode) }
      guard rename(file.staged, file.final) == 0 else {
        throw BatchJobError("\(FileError.fromErrno(file.final, "rename the finished export to"))")
      }
      TemporaryFiles.forget(file.staged)
      let folder = FileSystem.directory(of: file.final)
      if synced.insert(folder).inserted { Self.syncFolder(of: file.final) }
    }
    if let containerMode { chmod(container.staged, containerMode) }
    try BatchRunner.publish(container.staged, as: container.final)
    TemporaryFiles.forget(container.staged)
  }

  /// Removes whatever staged files and folders are left (after a failure, or the empty
  /// staging folders after success).
  func discard() {
    for file in files + [container] {
      unlink(file.staged)
      TemporaryFiles.forget(file.staged)
    }
    for folder in folders {
      rmdir(folder.staged)
      TemporaryFiles.forget(folder.staged)
    }
  }

  private static func syncFolder(of path: String) {
    let folder = open(FileSystem.directory(of: path), O_RDONLY)
    if folder >= 0 {
      fsync(folder)
      close(folder)
    }
  }
}
