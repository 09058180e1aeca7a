/// A named tensor: element type, shape and storage, shared by every file format.
public struct Tensor: Sendable {
  /// The tensor's name in its file.
  public var name: String
  /// The element type.
  public var dtype: DType
  /// The dimensions, outermost first.
  public var shape: Shape
  /// Where the bytes live.
  public var storage: TensorStorage

  /// Creates a tensor over existing storage.
  public init(name: String, dtype: DType, shape: Shape, storage: TensorStorage) {
    self.name = name
    self.dtype = dtype
    self.shape = shape
    self.storage = storage
  }

  /// Creates a tensor that owns a copy of `values` as F32.
  public init(name: String, shape: Shape, float32 values: [Float]) {
    precondition(
      shape.elementCount == values.count, "shape \(shape) does not match \(values.count)")
    let bytes = values.withUnsafeBytes { Array($0) }
    self.init(name: name, dtype: .f32, shape: shape, storage: .owned(bytes))
  }

  /// The number of elements.
  public var elementCount: Int { shape.elementCount ?? 0 }

  /// The number of bytes of data.
  public var byteCount: Int { storage.byteCount }

  /// Calls `body` with the raw bytes, without copying mapped storage.
  @inlinable
  public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    try storage.withUnsafeBytes(body)
  }
}
