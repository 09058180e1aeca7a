import EMoECore

extension EncodedRows {
  /// Decodes the rows in `range` to F32 into `destination`, which must hold
  /// `range.count · columns` values.
  public func decode(rows range: Range<Int>, into destination: UnsafeMutablePointer<Float>) {
    precondition(range.lowerBound >= 0 && range.upperBound <= rows, "rows \(range) of \(rows)")
    guard !range.isEmpty, columns > 0 else { return }
    let rowBytes = bytesPerRow
    let columns = columns
    data.withUnsafeBytes { raw in
      let base = raw.baseAddress! + range.lowerBound * rowBytes
      let count = range.count * columns
      switch encoding {
      case .f32:
        UnsafeMutableRawPointer(destination).copyMemory(from: base, byteCount: count * 4)
      case .int8:
        scales!.withUnsafeBytes { scaleBytes in
          for (offset, row) in range.enumerated() {
            Int8RowQuantizer.dequantizeRow(
              (base + offset * rowBytes).assumingMemoryBound(to: Int8.self), count: columns,
              scale: scaleBytes.loadUnaligned(fromByteOffset: row * 4, as: Float.self),
              into: destination + offset * columns)
          }
        }
      default:
        let dtype = encoding.dtype
        Dequantizer.dequantizeBlocks(
          dtype, from: base, blockCount: count / dtype.blockSize, into: destination)
      }
    }
  }

  /// Calls `body` with the rows in `range` as F32, decoding them into `scratch` (which must hold
  /// `range.count · columns` values) unless they are aligned F32 that can be read in place.
  @inlinable
  public func withDecodedRows<R>(
    _ range: Range<Int>, scratch: UnsafeMutablePointer<Float>,
    _ body: (UnsafePointer<Float>) throws -> R
  ) rethrows -> R {
    if encoding == .f32, !range.isEmpty {
      let offset = range.lowerBound * bytesPerRow
      let aligned = data.withUnsafeBytes {
        Int(bitPattern: $0.baseAddress! + offset) % MemoryLayout<Float>.alignment == 0
      }
      if aligned {
        return try data.withUnsafeBytes { raw in
          try body((raw.baseAddress! + offset).assumingMemoryBound(to: Float.self))
        }
      }
    }
    decode(rows: range, into: scratch)
    return try body(UnsafePointer(scratch))
  }
}

extension EncodedRows {
  /// Whether the rows are F32 stored at a 4-byte-aligned address, so products can read them in
  /// place without decoding.
  public var isReadableInPlace: Bool {
    guard encoding == .f32 else { return false }
    return data.withUnsafeBytes { raw in
      raw.baseAddress.map { Int(bitPattern: $0) % MemoryLayout<Float>.alignment == 0 } ?? true
    }
  }
}
