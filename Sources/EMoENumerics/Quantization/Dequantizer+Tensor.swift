import Dispatch
import EMoECore

extension Dequantizer {
  /// The number of values in one row of `tensor`: its last dimension (1 for a scalar).
  public static func rowLength(of tensor: Tensor) -> Int {
    tensor.shape.dimensions.last ?? 1
  }

  /// The number of rows of `tensor`: its element count over the row length.
  public static func rowCount(of tensor: Tensor) -> Int {
    let length = rowLength(of: tensor)
    return length == 0 ? 0 : tensor.elementCount / length
  }

  /// All values of `tensor` as F32, decoded in parallel chunks of whole blocks for large tensors
  /// (the result does not depend on the number of threads).
  ///
  /// - Throws: ``DequantizationError`` when the tensor's type has no decoder or its byte count
  ///   does not match its shape.
  public static func decode(tensor: Tensor) throws(DequantizationError) -> [Float] {
    try checkLayout(of: tensor)
    let dtype = tensor.dtype
    let blocks = tensor.elementCount / dtype.blockSize
    var result = [Float](repeating: 0, count: tensor.elementCount)
    guard blocks > 0 else { return result }
    tensor.withUnsafeBytes { raw in
      result.withUnsafeMutableBufferPointer { output in
        nonisolated(unsafe) let source = raw.baseAddress!
        nonisolated(unsafe) let target = output.baseAddress!
        // Chunks of about 64 K values keep each thread's output in its cache.
        let blocksPerChunk = max(1, (1 << 16) / dtype.blockSize)
        let chunks = (blocks + blocksPerChunk - 1) / blocksPerChunk
        let decodeChunk: @Sendable (Int) -> Void = { chunk in
          let first = chunk * blocksPerChunk
          let count = min(blocksPerChunk, blocks - first)
          dequantizeBlocks(
            dtype, from: source + first * dtype.blockBytes, blockCount: count,
            into: target + first * dtype.blockSize)
        }
        if chunks < 4 {
          for chunk in 0..<chunks { decodeChunk(chunk) }
        } else {
          DispatchQueue.concurrentPerform(iterations: chunks, execute: decodeChunk)
        }
      }
    }
    return result
  }

  /// Any stored tensor's values as F32, in stored order.
  ///
  /// The package's one decode-to-F32 path for a whole tensor: plain floats (F32, F16, BF16,
  /// F64) convert exactly (F64 rounds to nearest), ggml block types decode as
  /// ``decode(tensor:)`` does.
  ///
  /// - Throws: ``DequantizationError`` when the type has no decoder or the byte count does not
  ///   match the shape.
  public static func floats(of tensor: Tensor) throws(DequantizationError) -> [Float] {
    guard tensor.dtype == .f64 else { return try decode(tensor: tensor) }
    guard let elements = tensor.shape.elementCount,
      tensor.dtype.byteCount(elementCount: elements) == tensor.byteCount
    else {
      throw DequantizationError(
        .sizeMismatch, tensor: tensor.name,
        "\(tensor.byteCount) bytes do not hold F64 values of shape \(tensor.shape)")
    }
    do {
      return try tensor.floatValues()
    } catch {
      throw DequantizationError(.unsupportedType, tensor: tensor.name, "\(error)")
    }
  }

  /// Decodes rows `rows` of `tensor` into `destination`.
  ///
  /// Rows run along the last dimension; `destination` must hold `rows.count · rowLength`
  /// values. Only the bytes of those rows are read.
  ///
  /// - Throws: ``DequantizationError`` when the type has no decoder, the byte count does not
  ///   match the shape, the rows lie outside the tensor, or `destination` has the wrong size.
  public static func decodeRows(
    of tensor: Tensor, rows: Range<Int>, into destination: UnsafeMutableBufferPointer<Float>
  ) throws(DequantizationError) {
    try checkLayout(of: tensor)
    let length = rowLength(of: tensor)
    guard rows.lowerBound >= 0, rows.upperBound <= rowCount(of: tensor) else {
      throw DequantizationError(
        .rowOutOfRange, tensor: tensor.name,
        "rows \(rows.lowerBound)..<\(rows.upperBound) outside its \(rowCount(of: tensor)) rows")
    }
    guard destination.count == rows.count * length else {
      throw DequantizationError(
        .sizeMismatch, tensor: tensor.name,
        "\(rows.count) rows of \(length) values do not fit \(destination.count) floats")
    }
    let dtype = tensor.dtype
    let blocksPerRow = length / dtype.blockSize
    guard rows.count > 0, blocksPerRow > 0, let target = destination.baseAddress else { return }
    tensor.withUnsafeBytes { raw in
      dequantizeBlocks(
        dtype, from: raw.baseAddress! + rows.lowerBound * blocksPerRow * dtype.blockBytes,
        blockCount: rows.count * blocksPerRow, into: target)
    }
  }

  /// Row `row` of `tensor` as F32.
  ///
  /// - Throws: ``DequantizationError`` as ``decodeRows(of:rows:into:)``.
  public static func decodeRow(of tensor: Tensor, row: Int) throws(DequantizationError) -> [Float] {
    var result = [Float](repeating: 0, count: rowLength(of: tensor))
    let outcome = result.withUnsafeMutableBufferPointer { buffer in
      Result { () throws(DequantizationError) in
        try decodeRows(of: tensor, rows: row..<(row + 1), into: buffer)
      }
    }
    try outcome.get()
    return result
  }

  /// Checks that `tensor` has a decoder, whole blocks along its rows, and the byte count its
  /// shape requires.
  static func checkLayout(of tensor: Tensor) throws(DequantizationError) {
    let dtype = tensor.dtype
    guard supports(dtype) else {
      throw DequantizationError(
        .unsupportedType, tensor: tensor.name, "no F32 decoder for \(dtype.rawValue) values")
    }
    guard let elements = tensor.shape.elementCount else {
      throw DequantizationError(
        .sizeMismatch, tensor: tensor.name, "shape \(tensor.shape) has no valid element count")
    }
    guard rowLength(of: tensor) % dtype.blockSize == 0,
      let expected = dtype.byteCount(elementCount: elements), expected == tensor.byteCount
    else {
      throw DequantizationError(
        .sizeMismatch, tensor: tensor.name,
        "\(tensor.byteCount) bytes do not hold \(dtype.rawValue) rows of shape \(tensor.shape)")
    }
  }
}
