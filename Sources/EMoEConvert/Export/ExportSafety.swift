import EMoECore
import EMoEFormats

/// The output checks of an export, made before anything is written.
///
/// ``EMoECore/OutputSafety`` applied to exports (see docs/reliability.md):
///
/// - no output file is, or resolves to, the container;
/// - no output file is the source the container was converted from (an existing file with the
///   size and SHA-256 of a source file its manifest records), wherever it lies;
/// - every existing output file is a regular, writable file;
/// - a folder export writes only into a new or empty folder, or into a folder that an earlier
///   emoe-pack export wrote (its `config.json` has an `"emoe"` object) and that holds no
///   checkpoint file this export would not write: a stale `model.safetensors.index.json` or
///   shard left beside a new `model.safetensors` would be loaded instead of it.
public enum ExportSafety {
  /// Checks the files an export of `container` writes.
  ///
  /// - Throws: ``ConversionError/io(_:)`` holding an ``EMoECore/OutputRefusal`` (exit 2).
  public static func check(container: ContainerFile, outputs: [String]) throws(ConversionError) {
    do throws(OutputRefusal) {
      try OutputSafety.check(
        inputs: [(container.path, "the container \(container.path)")],
        outputs: outputs.map { ($0, "the export output") })
      for output in outputs { try checkNotSource(output, of: container) }
    } catch {
      throw .io(.refused(error))
    }
  }

  /// Refuses a folder `directory` that holds a checkpoint emoe-pack export did not write, or a
  /// checkpoint file whose name is not among `files` (the names this export writes; `nil`
  /// when they are not known yet, as in a batch before its containers exist).
  public static func checkFolder(_ directory: String, writing files: [String]?)
    throws(OutputRefusal)
  {
    try OutputSafety.checkFolder(directory)
    let present = checkpointFiles(in: directory)
    guard let first = present.first else { return }
    let config = FileSystem.join(directory, "config.json")
    guard isEarlierExport(config: config) else {
      throw OutputRefusal(
        path: directory,
        reason: "holds a checkpoint that emoe-pack export did not write "
          + "(\(FileSystem.join(directory, present.contains("config.json") ? "config.json" : first))"
          + " has no \"emoe\" settings), so it is not replaced; export into a new or empty folder")
    }
    guard let files else { return }
    let written = Set(files.map { FileSystem.basename(of: $0) })
    for name in present where !written.contains(name) {
      throw OutputRefusal(
        path: FileSystem.join(directory, name),
        reason: "is a checkpoint file this export would not write, and a loader could read it "
          + "instead of or beside the new files; remove it first")
    }
  }

  /// The names in `directory` that a loader may take for checkpoint files.
  ///
  /// Those are `config.json` and weights (`*.safetensors`, `*.bin`, `*.gguf`, and their index
  /// files). Hidden files are left out (interrupted writes leave none but hidden temporaries).
  static func checkpointFiles(in directory: String) -> [String] {
    guard let stream = opendir(directory) else { return [] }
    defer { closedir(stream) }
    var names: [String] = []
    while let entry = readdir(stream) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
      }
      if isCheckpointName(name) { names.append(name) }
    }
    return names.sorted()
  }

  /// Whether a loader may take a file called `name` for part of a checkpoint.
  ///
  /// That is `config.json` or weights (`*.safetensors`, `*.bin`, `*.gguf`, and their index
  /// files), hidden files aside.
  public static func isCheckpointName(_ name: String) -> Bool {
    guard !name.hasPrefix(".") else { return false }
    let suffixes = [
      ".safetensors", ".safetensors.index.json", ".bin", ".bin.index.json", ".gguf", ".pt",
      ".pth", ".ckpt", ".h5", ".msgpack", ".onnx",
    ]
    return name == "config.json" || suffixes.contains(where: { name.hasSuffix($0) })
  }

  /// The files a safetensors export writes when it is not sharded (it may write shards and an
  /// index instead, past 5 GB).
  public static let usualFolderFiles = [
    "model.safetensors", SafeTensorsCheckpoint.indexFileName, "config.json",
  ]

  /// Whether `config` is a `config.json` an emoe-pack export wrote (it has an `"emoe"` object).
  private static func isEarlierExport(config: String) -> Bool {
    guard let file = try? MappedFile(path: config) else { return false }
    let parsed = Result { () throws(JSONParseError) in try JSONValue.parse(file.bytes) }
    guard case .success(let document) = parsed else { return false }
    return document["emoe"]?.objectValue != nil
  }

  /// Refuses an existing `output` that has the size and SHA-256 of a source file the
  /// container's manifest records.
  private static func checkNotSource(_ output: String, of container: ContainerFile)
    throws(OutputRefusal)
  {
    guard let size = FileSystem.size(output) else { return }
    let candidates = container.manifest.source.files.filter { $0.size == size }
    // Hashed once for all candidates: a file written under a second ago is not cached.
    guard !candidates.isEmpty, let digest = try? FileDigests.shared.sha256(ofFile: output) else {
      return
    }
    for source in candidates {
      guard digest == source.sha256 else { continue }
      throw OutputRefusal(
        path: output,
        reason: "is the source file \(source.name) that \(container.path) was converted from "
          + "(same size and SHA-256), so it is not replaced; export to another path")
    }
  }
}
