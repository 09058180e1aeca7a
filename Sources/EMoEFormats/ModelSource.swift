import EMoECore

/// One read-only view over any input model, so nothing above the formats layer needs to know
/// which file format a model came from.
///
/// Opening a source maps its files and validates their headers; tensor data is not read until a
/// tensor's bytes are used. Implemented by safetensors files and checkpoints, GGUF files and
/// `.emoe` containers.
public protocol ModelSource: Sendable {
  /// The path the user gave (file, index or folder).
  var path: String { get }
  /// The files the model's bytes come from, in a stable order (shards in shard order).
  var files: [String] { get }
  /// Every tensor's description, in a stable order (file order; shard by shard).
  var tensorInfos: [TensorInfo] { get }
  /// The model's metadata as the format stores it.
  var metadata: SourceMetadata { get }
  /// The Hugging Face `config.json` beside the input, when there is one.
  var config: JSONValue? { get }
  /// The tensor named `name`, backed by the mapped file (no copy).
  ///
  /// - Throws: when no tensor has that name.
  func tensor(named name: String) throws -> Tensor
}

extension ModelSource {
  /// The description of the tensor named `name`, or `nil`.
  public func tensorInfo(named name: String) -> TensorInfo? {
    tensorInfos.first { $0.name == name }
  }
}

/// What a format says about one tensor before its data is touched.
public struct TensorInfo: Sendable, Hashable {
  /// The tensor's name.
  public var name: String
  /// The element type.
  public var dtype: DType
  /// The dimensions in row-major order, outermost first (GGUF's `ne` reversed).
  public var shape: Shape
  /// The number of data bytes.
  public var byteCount: Int

  /// Creates a description.
  public init(name: String, dtype: DType, shape: Shape, byteCount: Int) {
    self.name = name
    self.dtype = dtype
    self.shape = shape
    self.byteCount = byteCount
  }
}

/// A model's metadata in the form its format stores it, kept so it can be written back.
public enum SourceMetadata: Sendable, Equatable {
  /// safetensors `__metadata__`: string keys to string values, in header order.
  case safetensors([(key: String, value: String)])
  /// GGUF key-value pairs with their exact GGUF types, in file order.
  case gguf([(key: String, value: GGUFValue)])
  /// No metadata.
  case none

  public static func == (lhs: SourceMetadata, rhs: SourceMetadata) -> Bool {
    switch (lhs, rhs) {
    case (.none, .none): true
    case (.safetensors(let a), .safetensors(let b)):
      a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    case (.gguf(let a), .gguf(let b)):
      a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    default: false
    }
  }
}
