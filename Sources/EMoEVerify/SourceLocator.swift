import EMoECore
import EMoEFormats

/// The dense model a container was converted from, opened for comparison.
public struct LocatedSource: Sendable {
  /// The opened model (with the container's recorded `config.json` when none lies beside it).
  public var model: any ModelSource
  /// The path it was opened from.
  public var path: String
  /// How it was found: `--source` or `beside the container`.
  public var foundBy: String
}

/// Finds and identifies the source model of a container.
///
/// The container records its source files by name (no folder), size and SHA-256. With
/// `--source`, that model is used, and it must be the recorded one: the same number of files
/// with the same sizes and SHA-256 (a different model is refused, exit 2). Without it, the
/// recorded files are looked for in the container's own folder, and used only when all are
/// there and their sizes and SHA-256 match; otherwise the source checks are skipped, saying
/// why. Hashing reads the source once (about 0.5 s per 100 MB).
public enum SourceLocator {
  /// The source to compare with, or `nil` and the reason none is used.
  static func locate(
    for container: ContainerFile, explicit: String?, digests: FileDigests = .shared,
    progress: (@Sendable (VerificationProgress) -> Void)? = nil
  ) throws(VerificationError) -> (source: LocatedSource?, note: String) {
    let recorded = container.manifest.source
    if let explicit {
      let model = try open(explicit)
      if let mismatch = try identityMismatch(model, recorded, digests, progress) {
        throw VerificationError(
          "is not the model this container was converted from: \(mismatch)",
          location: ErrorLocation(file: explicit))
      }
      return (
        LocatedSource(model: withConfig(model, container), path: explicit, foundBy: "--source"),
        "--source; size and SHA-256 match the record"
      )
    }
    guard !recorded.files.isEmpty else {
      return (nil, "the container records no source files; give --source")
    }
    let folder = FileSystem.directory(of: container.path)
    let paths = recorded.files.map { FileSystem.join(folder, $0.name) }
    guard paths.allSatisfy({ FileSystem.exists($0) }) else {
      return (
        nil,
        "the recorded source (\(recorded.files.map(\.name).joined(separator: ", "))) is not beside "
          + "the container; give --source to check against it"
      )
    }
    let path: String
    if recorded.kind == .safetensorsIndex {
      let index = FileSystem.join(folder, SafeTensorsCheckpoint.indexFileName)
      path = FileSystem.exists(index) ? index : folder
    } else {
      path = paths[0]
    }
    let model: any ModelSource
    do {
      model = try open(path)
    } catch {
      return (nil, "\(error); give --source")
    }
    if let mismatch = try identityMismatch(model, recorded, digests, progress) {
      return (nil, "\(path) is beside the container but \(mismatch); give --source")
    }
    return (
      LocatedSource(
        model: withConfig(model, container), path: path, foundBy: "beside the container"),
      "beside the container; size and SHA-256 match the record"
    )
  }

  /// Opens a dense model: a `.safetensors` file, a sharded checkpoint (index or folder), or GGUF.
  public static func open(_ path: String) throws(VerificationError) -> any ModelSource {
    do {
      switch try FileKind.detect(path: path) {
      case .safetensors, .safetensorsIndex:
        return try SafeTensorsCheckpoint(path: path)
      case .gguf:
        return try GGUFFile(path: path)
      case .emoe:
        throw VerificationError(
          "is an .emoe container; the source is the dense model it was converted from",
          location: ErrorLocation(file: path))
      }
    } catch {
      throw VerificationError(reading: path, error)
    }
  }

  /// Why `model`'s files are not the recorded ones, or `nil` when they are.
  private static func identityMismatch(
    _ model: any ModelSource, _ recorded: ContainerSourceDescription, _ digests: FileDigests,
    _ progress: (@Sendable (VerificationProgress) -> Void)?
  ) throws(VerificationError) -> String? {
    let files = model.files
    let hashed = ByteTally(total: recorded.totalSize)
    var hashedBytes: (@Sendable (Int) -> Void)?
    if let progress {
      hashedBytes = { bytes in progress(hashed.add(bytes)) }
    }
    guard files.count == recorded.files.count else {
      return "it has \(files.count) files, the record \(recorded.files.count)"
    }
    for (file, expected) in zip(files, recorded.files) {
      let size = FileSystem.size(file) ?? -1
      guard size == expected.size else {
        return "\(FileSystem.basename(of: file)) has \(size) bytes, the record says "
          + "\(expected.name) had \(expected.size)"
      }
      let digest: String
      do {
        digest = try digests.sha256(ofFile: file, progress: hashedBytes)
      } catch {
        throw VerificationError("\(error)", isIOFailure: !error.isWrongKind)
      }
      guard digest == expected.sha256 else {
        return
          "\(FileSystem.basename(of: file)) has SHA-256 \(digest), the record \(expected.sha256)"
      }
    }
    return nil
  }

  /// `model`, seeing the container's recorded `config.json` when none lies beside it.
  private static func withConfig(_ model: any ModelSource, _ container: ContainerFile)
    -> any ModelSource
  {
    guard model.config == nil, let recorded = container.config else { return model }
    return RecordedConfigSource(base: model, config: recorded)
  }
}

/// A model source whose `config.json` comes from the container's record.
struct RecordedConfigSource: ModelSource {
  let base: any ModelSource
  let config: JSONValue?

  var path: String { base.path }
  var files: [String] { base.files }
  var tensorInfos: [TensorInfo] { base.tensorInfos }
  var metadata: SourceMetadata { base.metadata }
  func tensor(named name: String) throws -> Tensor { try base.tensor(named: name) }
}
