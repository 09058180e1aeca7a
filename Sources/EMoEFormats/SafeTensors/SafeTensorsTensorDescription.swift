import EMoECore

/// What the writer needs to know of a tensor before its bytes exist: name, dtype and shape.
public struct SafeTensorsTensorDescription: Sendable, Hashable {
  /// The tensor's name.
  public var name: String
  /// The element type.
  public var dtype: DType
  /// The dimensions, outermost first.
  public var shape: Shape

  /// Creates a description.
  public init(name: String, dtype: DType, shape: Shape) {
    self.name = name
    self.dtype = dtype
    self.shape = shape
  }

  /// The description of an existing tensor.
  public init(_ tensor: Tensor) {
    self.init(name: tensor.name, dtype: tensor.dtype, shape: tensor.shape)
  }

  /// The number of data bytes, or `nil` when the size overflows, a dimension is negative, or
  /// sub-byte elements do not fill whole bytes.
  public var byteCount: Int? {
    guard let elements = shape.elementCount else { return nil }
    let (bits, overflow) = elements.multipliedReportingOverflow(by: dtype.safeTensorsBits)
    guard !overflow, bits % 8 == 0 else { return nil }
    return bits / 8
  }
}
