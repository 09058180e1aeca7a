import EMoECore

/// One tensor a ``ContainerWriter`` will store: what the caller declares before any data is
/// written.
public struct ContainerTensorDeclaration: Sendable, Equatable {
  /// The tensor's name, unique in the container.
  public var name: String
  /// The element type of the stored (decompressed) bytes: any ``DType``, `I8` for int8 rows.
  public var dtype: DType
  /// The stored shape, outermost first.
  public var shape: Shape
  /// How the stored bytes encode values.
  public var encoding: ContainerEncoding
  /// Whether the bytes are stored as a zstd frame.
  public var compression: ContainerCompression
  /// The source tensor these bytes derive from, when there is one.
  public var source: ContainerTensorSource?

  /// Creates a declaration.
  public init(
    name: String, dtype: DType, shape: Shape, encoding: ContainerEncoding = .plain,
    compression: ContainerCompression = .none, source: ContainerTensorSource? = nil
  ) {
    self.name = name
    self.dtype = dtype
    self.shape = shape
    self.encoding = encoding
    self.compression = compression
    self.source = source
  }

  /// A passthrough tensor: stored as the source holds it, under the same name.
  public static func passthrough(
    _ info: TensorInfo, compression: ContainerCompression = .none
  ) -> ContainerTensorDeclaration {
    ContainerTensorDeclaration(
      name: info.name, dtype: info.dtype, shape: info.shape, compression: compression,
      source: ContainerTensorSource(
        name: info.name, dtype: info.dtype, shape: info.shape, transposed: false, values: .exact))
  }

  /// The number of decompressed bytes, or `nil` when the shape does not fit the dtype.
  public var rawLength: Int? {
    guard let count = shape.elementCount else { return nil }
    return dtype.byteCount(elementCount: count)
  }
}

/// How stored bytes encode a tensor's values.
public enum ContainerEncoding: Sendable, Equatable {
  /// The bytes are the values in the declared dtype (row-major, little-endian; ggml block layout
  /// for quantised types).
  case plain
  /// A rank-2 `I8` tensor `q[rows, cols]` whose values are `scales[r] * q[r][c]`; `scales` names
  /// an F32 tensor of shape `[rows]` stored in the same container.
  case int8Rows(scales: String)
}

/// Whether a tensor's bytes are compressed in the file.
public enum ContainerCompression: Sendable, Equatable {
  /// Stored as they are: usable straight from the mapped file.
  case none
  /// Stored as one zstd frame made at `level`.
  case zstd(level: Int)
}

/// Where a stored tensor came from, so export can restore the original.
public struct ContainerTensorSource: Sendable, Equatable {
  /// How the stored values relate to the source tensor's values.
  public enum ValueChange: String, Sendable, CaseIterable {
    /// The same dtype and the same bytes per element: the data moved bit for bit.
    case exact
    /// A different dtype that holds exactly the same values (e.g. Q4_1 decoded to F32).
    case lossless
    /// The values changed (requantised or narrowed).
    case lossy
  }

  /// The tensor's name in the source model.
  public var name: String
  /// Its element type in the source.
  public var dtype: DType
  /// Its shape in the source (row-major, outermost first).
  public var shape: Shape
  /// Whether stored row `p` is source column `permutation[p]` (true) rather than source row
  /// `permutation[p]` (false); the identity permutation applies outside converted layers.
  public var transposed: Bool
  /// How the stored values relate to the source's.
  public var values: ValueChange

  /// Creates a source description.
  public init(name: String, dtype: DType, shape: Shape, transposed: Bool, values: ValueChange) {
    self.name = name
    self.dtype = dtype
    self.shape = shape
    self.transposed = transposed
    self.values = values
  }
}
