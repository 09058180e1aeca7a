import EMoECore

/// One tensor as a validated safetensors header describes it.
public struct SafeTensorsEntry: Sendable, Hashable {
  /// The tensor's name (its key in the header).
  public var name: String
  /// The element type.
  public var dtype: DType
  /// The dimensions, outermost first.
  public var shape: Shape
  /// The offset of the tensor's first data byte in the file (not in the data section).
  public var fileOffset: Int
  /// The number of data bytes.
  public var byteCount: Int

  /// Creates an entry.
  public init(name: String, dtype: DType, shape: Shape, fileOffset: Int, byteCount: Int) {
    self.name = name
    self.dtype = dtype
    self.shape = shape
    self.fileOffset = fileOffset
    self.byteCount = byteCount
  }

  /// The description every format shares.
  public var info: TensorInfo {
    TensorInfo(name: name, dtype: dtype, shape: shape, byteCount: byteCount)
  }
}
