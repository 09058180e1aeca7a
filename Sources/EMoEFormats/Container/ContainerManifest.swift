import EMoECore

/// Everything a container says about itself in its JSON manifest, decoded and validated.
public struct ContainerManifest: Sendable, Equatable {
  /// Features a reader must implement to read the file (`zstd`, `int8_rows`).
  public var requiredFeatures: [String]
  /// The tool that wrote the file.
  public var tool: ContainerTool
  /// The exact options the conversion ran with (a JSON object given by the caller).
  public var options: JSONValue
  /// What calibration chose and measured (`convert --calibration`), or `nil` without it.
  public var calibration: JSONValue?
  /// The model the container was made from.
  public var source: ContainerSourceDescription
  /// The converted FFN layers.
  public var layers: [ContainerLayerRecord]
  /// Every stored tensor, in file order.
  public var tensors: [ContainerTensorEntry]

  /// Creates a manifest.
  public init(
    requiredFeatures: [String], tool: ContainerTool, options: JSONValue,
    source: ContainerSourceDescription, layers: [ContainerLayerRecord],
    tensors: [ContainerTensorEntry], calibration: JSONValue? = nil
  ) {
    self.requiredFeatures = requiredFeatures
    self.tool = tool
    self.options = options
    self.calibration = calibration
    self.source = source
    self.layers = layers
    self.tensors = tensors
  }
}

/// The tool that wrote a container.
public struct ContainerTool: Sendable, Equatable {
  /// The tool's name, such as `emoe-pack`.
  public var name: String
  /// Its version, such as `0.1.0`.
  public var version: String

  /// Creates a tool description.
  public init(name: String, version: String) {
    self.name = name
    self.version = version
  }
}

/// The model a container was made from: its files, format, metadata and `config.json`.
public struct ContainerSourceDescription: Sendable, Equatable {
  /// The source's format: `safetensors`, `safetensors_index` or `gguf`.
  public var format: String
  /// The source's files with their sizes and SHA-256.
  public var files: [ContainerSourceFile]
  /// The source's metadata, kept so export can write it back.
  public var metadata: SourceMetadata
  /// The Hugging Face `config.json`, when there was one.
  public var config: JSONValue?

  /// Creates a source description.
  public init(
    format: String, files: [ContainerSourceFile], metadata: SourceMetadata, config: JSONValue?
  ) {
    self.format = format
    self.files = files
    self.metadata = metadata
    self.config = config
  }

  /// The total size of the source files in bytes.
  ///
  /// The sizes come from the file, so the sum saturates at `Int.max` instead of trapping.
  public var totalSize: Int {
    files.reduce(0) { total, file in
      let (sum, overflow) = total.addingReportingOverflow(file.size)
      return overflow ? Int.max : sum
    }
  }
}

/// One source file: its name (no folder), size and SHA-256.
public struct ContainerSourceFile: Sendable, Equatable {
  /// The file's name without its folder.
  public var name: String
  /// Its size in bytes.
  public var size: Int
  /// Its SHA-256 as 64 lowercase hex digits.
  public var sha256: String

  /// Creates a source file description.
  public init(name: String, size: Int, sha256: String) {
    self.name = name
    self.size = size
    self.sha256 = sha256
  }

  /// Describes the file at `path`, its SHA-256 taken from `digests` (which reads the file only
  /// when it has not hashed this version of it before).
  public static func describing(
    path: String, digests: FileDigests = .shared,
    progress: (@Sendable (_ bytes: Int) -> Void)? = nil
  ) throws(FileError) -> ContainerSourceFile {
    let digest = try digests.sha256(ofFile: path, progress: progress)
    guard let size = FileSystem.size(path) else { throw .fromErrno(path, "stat") }
    return ContainerSourceFile(name: FileSystem.basename(of: path), size: size, sha256: digest)
  }
}
