import EMoECore

/// One tensor as a GGUF file describes it: name, ggml type, `ne` dimensions and data placement.
public struct GGUFTensorInfo: Sendable, Hashable {
  /// The tensor's name.
  public var name: String
  /// The ggml type number.
  public var type: GGUFTensorType
  /// The element type.
  public var dtype: DType
  /// The dimensions in ggml order, fastest-varying (`ne0`, the row length) first.
  public var dimensions: [Int]
  /// The data's offset from the start of the data section (a multiple of the alignment).
  public var offset: Int
  /// The data's offset from the start of the file.
  public var fileOffset: Int
  /// The number of data bytes (without padding).
  public var byteCount: Int

  /// Creates a description.
  public init(
    name: String, type: GGUFTensorType, dtype: DType, dimensions: [Int], offset: Int,
    fileOffset: Int, byteCount: Int
  ) {
    self.name = name
    self.type = type
    self.dtype = dtype
    self.dimensions = dimensions
    self.offset = offset
    self.fileOffset = fileOffset
    self.byteCount = byteCount
  }

  /// The dimensions in row-major order, outermost first (`dimensions` reversed).
  public var shape: Shape { Shape(dimensions.reversed()) }

  /// The format-neutral description.
  public var tensorInfo: TensorInfo {
    TensorInfo(name: name, dtype: dtype, shape: shape, byteCount: byteCount)
  }
}
