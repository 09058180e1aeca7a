import EMoECore

extension EncodedRows {
  /// Encodes a row-major F32 matrix in `encoding`, for tests, benchmarks and in-memory EMoE
  /// layouts.
  ///
  /// int8 rows use ``Int8RowQuantizer`` and Q8_0 ``Q8_0Quantizer`` (byte-identical to ggml's
  /// reference); F16 and BF16 round to nearest even.
  ///
  /// - Throws: ``EncodedRowsError`` when the values do not fill the shape, Q8_0 rows are not
  ///   whole 32-value blocks, or `encoding` is another ggml block type (decoded, not made here).
  public static func encode(
    _ values: UnsafeBufferPointer<Float>, rows: Int, columns: Int, as encoding: Encoding,
    name: String = ""
  ) throws(EncodedRowsError) -> EncodedRows {
    guard rows >= 0, columns >= 0,
      case (let count, false) = rows.multipliedReportingOverflow(by: columns), count == values.count
    else {
      throw EncodedRowsError(name: name, problem: "\(values.count) values for \(rows) × \(columns)")
    }
    guard [.f32, .f16, .bf16, .int8, .q8_0].contains(encoding) else {
      throw EncodedRowsError(name: name, problem: "cannot encode rows as \(encoding.rawValue)")
    }
    if encoding == .q8_0, columns % 32 != 0 {
      throw EncodedRowsError(
        name: name, problem: "Q8_0 rows of \(columns) values are not whole 32-value blocks")
    }
    let byteCount = (bytesPerRow(encoding, columns: columns) ?? 0) * rows
    var bytes = [UInt8](repeating: 0, count: byteCount)
    var scales: TensorStorage?
    if let source = values.baseAddress, count > 0 {
      bytes.withUnsafeMutableBytes { raw in
        let target = raw.baseAddress!
        switch encoding {
        case .f32:
          target.copyMemory(from: source, byteCount: count * 4)
        case .f16:
          for index in 0..<count {
            target.storeBytes(
              of: HalfPrecision.f16(from: source[index]).littleEndian, toByteOffset: index * 2,
              as: UInt16.self)
          }
        case .bf16:
          for index in 0..<count {
            target.storeBytes(
              of: HalfPrecision.bf16(from: source[index]).littleEndian, toByteOffset: index * 2,
              as: UInt16.self)
          }
        case .int8:
          var rowScales = [Float](repeating: 0, count: rows)
          rowScales.withUnsafeMutableBufferPointer { scaleBuffer in
            Int8RowQuantizer.quantize(
              source, rows: rows, columns: columns,
              codes: target.assumingMemoryBound(to: Int8.self), scales: scaleBuffer.baseAddress!)
          }
          scales = .owned(rowScales.withUnsafeBytes { Array($0) })
        default:
          Q8_0Quantizer.quantizeBlocks(source, blockCount: count / 32, into: target)
        }
      }
    } else if encoding == .int8 {
      scales = .owned([UInt8](repeating: 0, count: rows * 4))
    }
    return try EncodedRows(
      name: name, encoding: encoding, rows: rows, columns: columns, data: .owned(bytes),
      scales: scales)
  }
}
