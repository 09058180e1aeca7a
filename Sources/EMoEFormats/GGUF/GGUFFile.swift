import EMoECore

/// A GGUF file (version 2 or 3, little-endian), memory-mapped and validated as strictly as
/// ggml's own reader; tensor data stays in the mapping until it is used.
///
/// Metadata keeps every key-value pair in file order with its exact GGUF type, so a file can be
/// written back unchanged. Shapes in ``tensorInfos`` are row-major (GGUF's `ne` reversed).
public struct GGUFFile: ModelSource {
  /// The path the file was opened from.
  public let path: String
  /// The GGUF version (2 or 3).
  public let version: UInt32
  /// The alignment of tensor data (`general.alignment`, 32 by default).
  public let alignment: Int
  /// The byte offset where the data section starts.
  public let dataOffset: Int
  /// Every metadata pair in file order.
  public let keyValues: [(key: String, value: GGUFValue)]
  /// Every tensor as the file describes it, in file order.
  public let tensors: [GGUFTensorInfo]
  /// The mapped file.
  public let file: MappedFile
  private let tensorIndex: [String: Int]

  /// Maps and validates the GGUF file at `path`.
  ///
  /// - Throws: ``GGUFError`` naming the rule broken, the tensor or key, and the byte offset;
  ///   `FileError` when the file cannot be opened or mapped.
  public init(path: String) throws {
    try self.init(file: try MappedFile(path: path))
  }

  /// Validates an already mapped GGUF file.
  ///
  /// - Throws: ``GGUFError`` as ``init(path:)``.
  public init(file: MappedFile) throws(GGUFError) {
    let parsed = try GGUFFile.parse(file)
    self.path = file.path
    self.file = file
    self.version = parsed.version
    self.alignment = parsed.alignment
    self.dataOffset = parsed.dataOffset
    self.keyValues = parsed.keyValues
    self.tensors = parsed.tensors
    var index: [String: Int] = [:]
    for (position, tensor) in parsed.tensors.enumerated() { index[tensor.name] = position }
    self.tensorIndex = index
  }

  /// The file itself.
  public var files: [String] { [path] }

  /// Every tensor's format-neutral description, in file order.
  public var tensorInfos: [TensorInfo] { tensors.map(\.tensorInfo) }

  /// The metadata pairs with their GGUF types, in file order.
  public var metadata: SourceMetadata { .gguf(keyValues) }

  /// GGUF files carry their configuration in metadata, so there is no `config.json`.
  public var config: JSONValue? { nil }

  /// The value of metadata key `key`, or `nil`.
  public func value(forKey key: String) -> GGUFValue? {
    keyValues.first { $0.key == key }?.value
  }

  /// The GGUF description of the tensor named `name`, or `nil`.
  public func tensorDescription(named name: String) -> GGUFTensorInfo? {
    tensorIndex[name].map { tensors[$0] }
  }

  /// The tensor named `name`, backed by the mapping (no copy).
  ///
  /// - Throws: ``GGUFError`` of kind ``GGUFError/Kind/tensorNotFound``.
  public func tensor(named name: String) throws -> Tensor {
    guard let position = tensorIndex[name] else {
      throw GGUFError(
        .tensorNotFound, ErrorLocation(file: path, tensor: name), "no tensor of that name")
    }
    return tensor(tensors[position])
  }

  /// The tensor `info` describes, backed by the mapping; `info` must be one of ``tensors``.
  public func tensor(_ info: GGUFTensorInfo) -> Tensor {
    Tensor(
      name: info.name, dtype: info.dtype, shape: info.shape,
      storage: .mapped(file, offset: info.fileOffset, count: info.byteCount))
  }
}
