import EMoECore

/// The first NaN or infinity in a tensor, and where it is: the element, its index along each
/// dimension and, when the tensor is mapped from a file, the byte offset of its bytes (of its
/// block, for block-quantised types).
///
/// Every command treats a non-finite value where numbers are needed as an error of its own
/// (exit 8): a gate that holds NaN scores every expert NaN, so a top-k routing would silently
/// pick experts 0...k-1, and comparisons against NaN prove nothing.
public struct NonFiniteValue: Sendable, Equatable, CustomStringConvertible {
  /// The tensor's name.
  public var tensor: String
  /// The tensor's shape.
  public var shape: Shape
  /// The flat (row-major) index of the first non-finite element.
  public var element: Int
  /// The value: NaN, +infinity or -infinity.
  public var value: Float
  /// The file the tensor is mapped from, when it is.
  public var file: String?
  /// The byte offset in that file of the element (or its block), when mapped.
  public var byteOffset: Int?

  /// Creates a finding.
  public init(
    tensor: String, shape: Shape, element: Int, value: Float, file: String? = nil,
    byteOffset: Int? = nil
  ) {
    self.tensor = tensor
    self.shape = shape
    self.element = element
    self.value = value
    self.file = file
    self.byteOffset = byteOffset
  }

  /// The element's index along each dimension.
  public var index: [Int] {
    var rest = element
    var result = [Int](repeating: 0, count: shape.rank)
    for axis in (0..<shape.rank).reversed() {
      let size = max(1, shape[axis])
      result[axis] = rest % size
      rest /= size
    }
    return result
  }

  /// `NaN`, `+inf` or `-inf`.
  public var valueText: String {
    value.isNaN ? "NaN" : (value > 0 ? "+inf" : "-inf")
  }

  /// `NaN at element 77 (index [1, 13]) of [4, 64]`.
  public var description: String {
    "\(valueText) at element \(element) (index \(Shape(index))) of \(shape)"
  }

  /// Where it is, for messages: the file the tensor is mapped from (else `file`, the file the
  /// caller read it from, such as a container whose tensor was decompressed), the tensor, and
  /// the byte offset when known.
  public func location(file fallback: String) -> ErrorLocation {
    ErrorLocation(file: file ?? fallback, tensor: tensor, offset: file == nil ? nil : byteOffset)
  }

  /// The first non-finite element of `tensor`, or `nil` when every value is finite or the
  /// type holds no floating-point values (integers, bools).
  ///
  /// Plain floats (F32, F16, BF16, F64) are checked on their bit patterns in place; GGUF block
  /// types are decoded a chunk of rows at a time, so memory stays small.
  ///
  /// - Throws: ``DequantizationError`` when a block-quantised tensor cannot be decoded.
  public static func first(in tensor: Tensor) throws(DequantizationError) -> NonFiniteValue? {
    var fileOffset: Int?
    var filePath: String?
    if case .mapped(let mapped, let offset, _) = tensor.storage {
      fileOffset = offset
      filePath = mapped.path
    }
    func finding(_ element: Int, _ value: Float, byte: Int) -> NonFiniteValue {
      NonFiniteValue(
        tensor: tensor.name, shape: tensor.shape, element: element, value: value, file: filePath,
        byteOffset: fileOffset.map { $0 + byte })
    }
    switch tensor.dtype {
    case .f32, .f16, .bf16, .f64:
      let width = tensor.dtype.blockBytes
      let count = min(tensor.elementCount, tensor.byteCount / width)
      return tensor.withUnsafeBytes { raw -> NonFiniteValue? in
        guard let base = raw.baseAddress,
          let element = firstNonFiniteBits(base, count: count, dtype: tensor.dtype)
        else { return nil }
        return finding(element, decode(base + element * width, tensor.dtype), byte: element * width)
      }
    default:
      guard tensor.dtype.isQuantized else { return nil }
      let length = Dequantizer.rowLength(of: tensor)
      let rows = Dequantizer.rowCount(of: tensor)
      guard length > 0, rows > 0 else { return nil }
      let chunk = max(1, (1 << 18) / length)
      var buffer = [Float](repeating: 0, count: min(chunk, rows) * length)
      var start = 0
      while start < rows {
        let count = min(chunk, rows - start)
        let outcome = buffer.withUnsafeMutableBufferPointer { output in
          Result { () throws(DequantizationError) -> Int? in
            let target = UnsafeMutableBufferPointer(rebasing: output[0..<(count * length)])
            try Dequantizer.decodeRows(of: tensor, rows: start..<(start + count), into: target)
            return target.firstIndex { !$0.isFinite }
          }
        }
        if let index = try outcome.get() {
          let element = start * length + index
          let block = element / tensor.dtype.blockSize
          return finding(element, buffer[index], byte: block * tensor.dtype.blockBytes)
        }
        start += count
      }
      return nil
    }
  }

  /// The first non-finite value of `values`, reported against a tensor `name` of `shape`.
  public static func first(in values: [Float], tensor name: String, shape: Shape)
    -> NonFiniteValue?
  {
    guard let index = values.firstIndex(where: { !$0.isFinite }) else { return nil }
    return NonFiniteValue(tensor: name, shape: shape, element: index, value: values[index])
  }

  /// The index of the first element whose exponent bits are all ones.
  private static func firstNonFiniteBits(_ base: UnsafeRawPointer, count: Int, dtype: DType)
    -> Int?
  {
    switch dtype {
    case .f32:
      for index in 0..<count
      where base.loadUnaligned(fromByteOffset: index &* 4, as: UInt32.self) & 0x7F80_0000
        == 0x7F80_0000
      {
        return index
      }
    case .f16, .bf16:
      let mask: UInt16 = dtype == .f16 ? 0x7C00 : 0x7F80
      for index in 0..<count
      where base.loadUnaligned(fromByteOffset: index &* 2, as: UInt16.self) & mask == mask {
        return index
      }
    case .f64:
      let mask: UInt64 = 0x7FF0_0000_0000_0000
      for index in 0..<count
      where base.loadUnaligned(fromByteOffset: index &* 8, as: UInt64.self) & mask == mask {
        return index
      }
    default:
      break
    }
    return nil
  }

  /// One plain float element as F32 (NaN stays NaN, infinities keep their sign).
  private static func decode(_ pointer: UnsafeRawPointer, _ dtype: DType) -> Float {
    switch dtype {
    case .f32: Float(bitPattern: pointer.loadUnaligned(as: UInt32.self))
    case .f64: Float(Double(bitPattern: pointer.loadUnaligned(as: UInt64.self)))
    case .bf16: HalfPrecision.float(fromBF16: pointer.loadUnaligned(as: UInt16.self))
    default: HalfPrecision.float(fromF16: pointer.loadUnaligned(as: UInt16.self))
    }
  }
}
