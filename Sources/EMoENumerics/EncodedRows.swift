import EMoECore

/// A row-major matrix whose rows are stored in one encoding (F32, F16, BF16, int8 with a scale per
/// row, or a ggml block type such as Q8_0) and decoded to F32 a block of rows at a time.
///
/// The FFN runner reads expert weights through this type so a quantised matrix is never
/// expanded whole: each expert block (or row chunk) is decoded into a scratch buffer just before
/// its product. F32 rows that are suitably aligned are used in place without a copy.
public struct EncodedRows: Sendable {
  /// How each row is stored.
  public enum Encoding: String, Sendable, CaseIterable, Hashable {
    /// 4-byte IEEE floats.
    case f32 = "F32"
    /// IEEE half floats.
    case f16 = "F16"
    /// bfloat16.
    case bf16 = "BF16"
    /// One signed byte per value and one F32 scale per row: `value = scale · q`.
    case int8 = "I8"
    /// ggml Q8_0 blocks along the row: 32 values as an F16 scale and 32 signed bytes (34 bytes).
    case q8_0 = "Q8_0"
    /// ggml Q4_0 blocks (whole quantised source rows moved by the permutation).
    case q4_0 = "Q4_0"
    /// ggml Q4_1 blocks.
    case q4_1 = "Q4_1"
    /// ggml Q5_0 blocks.
    case q5_0 = "Q5_0"
    /// ggml Q5_1 blocks.
    case q5_1 = "Q5_1"
    /// ggml Q2_K blocks.
    case q2_K = "Q2_K"
    /// ggml Q3_K blocks.
    case q3_K = "Q3_K"
    /// ggml Q4_K blocks.
    case q4_K = "Q4_K"
    /// ggml Q5_K blocks.
    case q5_K = "Q5_K"
    /// ggml Q6_K blocks.
    case q6_K = "Q6_K"

    /// The element type of the row bytes (`I8` for int8 rows).
    public var dtype: DType {
      self == .int8 ? .i8 : DType(rawValue: rawValue)!
    }

    /// The encoding of rows stored as `dtype`, or `nil` when rows of that type cannot be
    /// decoded here.
    public init?(dtype: DType) {
      if dtype == .i8 {
        self = .int8
        return
      }
      self.init(rawValue: dtype.rawValue)
    }
  }

  /// A name for messages (usually the tensor's).
  public let name: String
  /// The row encoding.
  public let encoding: Encoding
  /// The number of rows.
  public let rows: Int
  /// The number of values in a row.
  public let columns: Int
  /// The encoded rows, `rows · bytesPerRow` bytes.
  public let data: TensorStorage
  /// For ``Encoding/int8`` only: `rows` little-endian F32 scales.
  public let scales: TensorStorage?

  /// Wraps encoded bytes after checking that their sizes match the shape.
  ///
  /// - Throws: ``EncodedRowsError`` when the data or scale byte counts do not match, a Q8_0 row
  ///   is not a whole number of blocks, or int8 rows come without scales.
  public init(
    name: String, encoding: Encoding, rows: Int, columns: Int, data: TensorStorage,
    scales: TensorStorage? = nil
  ) throws(EncodedRowsError) {
    guard rows >= 0, columns >= 0 else {
      throw EncodedRowsError(name: name, problem: "negative shape \(rows) × \(columns)")
    }
    let blockSize = encoding.dtype.blockSize
    if columns % blockSize != 0 {
      throw EncodedRowsError(
        name: name,
        problem:
          "\(encoding.rawValue) rows of \(columns) values are not whole \(blockSize)-value blocks")
    }
    guard let rowBytes = Self.bytesPerRow(encoding, columns: columns),
      case (let total, false) = rows.multipliedReportingOverflow(by: rowBytes)
    else { throw EncodedRowsError(name: name, problem: "shape \(rows) × \(columns) overflows") }
    guard data.byteCount == total else {
      throw EncodedRowsError(
        name: name,
        problem: "\(data.byteCount) data bytes, expected \(total) for \(rows) × \(columns) "
          + encoding.rawValue)
    }
    if encoding == .int8 {
      guard let scales else {
        throw EncodedRowsError(name: name, problem: "int8 rows need one F32 scale per row")
      }
      guard scales.byteCount == rows * 4 else {
        throw EncodedRowsError(
          name: name, problem: "\(scales.byteCount) scale bytes, expected \(rows * 4)")
      }
    }
    self.name = name
    self.encoding = encoding
    self.rows = rows
    self.columns = columns
    self.data = data
    self.scales = encoding == .int8 ? scales : nil
  }

  /// Wraps F32 values held in memory.
  public init(name: String = "", rows: Int, columns: Int, float32 values: [Float]) {
    precondition(rows * columns == values.count, "\(values.count) values for \(rows) × \(columns)")
    self.name = name
    self.encoding = .f32
    self.rows = rows
    self.columns = columns
    self.data = .owned(values.withUnsafeBytes { Array($0) })
    self.scales = nil
  }

  /// Wraps a rank-2 tensor (F32, F16, BF16, I8 with `scales`, or a ggml block type) without
  /// copying it.
  ///
  /// - Throws: ``EncodedRowsError`` for another element type, another rank, or sizes that do
  ///   not match.
  public init(tensor: Tensor, scales: Tensor? = nil) throws(EncodedRowsError) {
    guard tensor.shape.rank == 2 else {
      throw EncodedRowsError(name: tensor.name, problem: "shape \(tensor.shape) is not a matrix")
    }
    guard let encoding = Encoding(dtype: tensor.dtype) else {
      throw EncodedRowsError(
        name: tensor.name, problem: "\(tensor.dtype.rawValue) rows cannot be decoded here")
    }
    if let scales, scales.dtype != .f32 || scales.elementCount != tensor.shape[0] {
      throw EncodedRowsError(
        name: tensor.name,
        problem: "scales '\(scales.name)' are \(scales.dtype.rawValue) \(scales.shape), "
          + "expected F32 [\(tensor.shape[0])]")
    }
    try self.init(
      name: tensor.name, encoding: encoding, rows: tensor.shape[0], columns: tensor.shape[1],
      data: tensor.storage, scales: scales?.storage)
  }

  /// The bytes one row occupies.
  public var bytesPerRow: Int { Self.bytesPerRow(encoding, columns: columns) ?? 0 }

  /// The bytes of a row of `columns` values in `encoding`, or `nil` on overflow.
  public static func bytesPerRow(_ encoding: Encoding, columns: Int) -> Int? {
    guard columns >= 0 else { return nil }
    let dtype = encoding.dtype
    return dtype.byteCount(elementCount: columns / dtype.blockSize * dtype.blockSize)
  }
}

/// Encoded rows whose sizes do not fit their shape or encoding.
public struct EncodedRowsError: Error, Sendable, CustomStringConvertible {
  /// The matrix concerned.
  public var name: String
  /// What is wrong.
  public var problem: String

  /// Creates an error.
  public init(name: String, problem: String) {
    self.name = name
    self.problem = problem
  }

  /// A readable message.
  public var description: String {
    name.isEmpty ? "weight rows: \(problem)" : "tensor '\(name)': \(problem)"
  }
}
