import EMoECore

/// Decodes F32, F16, BF16 and ggml's block-quantised types to F32, block by block on raw bytes.
///
/// Every decoder reproduces `gguf.quants.dequantize` (gguf-py) bit for bit: the same F32
/// operations in the same order, no fused multiply-add. Because decoders work on whole blocks of
/// raw bytes, a caller can decode one row of a memory-mapped tensor without touching the rest.
/// Plain types count one element as one block.
public enum Dequantizer {
  /// The element types that have a decoder.
  public static let supportedTypes: [DType] = [
    .f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K,
    .q8_K,
  ]

  /// Whether `dtype` can be decoded to F32.
  public static func supports(_ dtype: DType) -> Bool {
    switch dtype {
    case .f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K,
      .q8_K:
      true
    default: false
    }
  }

  /// Decodes `blockCount` blocks of `dtype` at `source` into `blockCount · dtype.blockSize`
  /// floats at `destination`, without checking sizes.
  ///
  /// The caller guarantees that `source` holds `blockCount · dtype.blockBytes` readable bytes
  /// (no alignment needed) and `destination` room for the floats, and that ``supports(_:)``
  /// is true for `dtype`; an unsupported type decodes nothing.
  public static func dequantizeBlocks(
    _ dtype: DType, from source: UnsafeRawPointer, blockCount: Int,
    into destination: UnsafeMutablePointer<Float>
  ) {
    guard blockCount > 0 else { return }
    switch dtype {
    case .f32: copyF32(source, count: blockCount, into: destination)
    case .f16: widenF16(source, count: blockCount, into: destination)
    case .bf16: widenBF16(source, count: blockCount, into: destination)
    case .q4_0: dequantizeQ4_0(source, blockCount: blockCount, into: destination)
    case .q4_1: dequantizeQ4_1(source, blockCount: blockCount, into: destination)
    case .q5_0: dequantizeQ5_0(source, blockCount: blockCount, into: destination)
    case .q5_1: dequantizeQ5_1(source, blockCount: blockCount, into: destination)
    case .q8_0: dequantizeQ8_0(source, blockCount: blockCount, into: destination)
    case .q2_K: dequantizeQ2_K(source, blockCount: blockCount, into: destination)
    case .q3_K: dequantizeQ3_K(source, blockCount: blockCount, into: destination)
    case .q4_K: dequantizeQ4_K(source, blockCount: blockCount, into: destination)
    case .q5_K: dequantizeQ5_K(source, blockCount: blockCount, into: destination)
    case .q6_K: dequantizeQ6_K(source, blockCount: blockCount, into: destination)
    case .q8_K: dequantizeQ8_K(source, blockCount: blockCount, into: destination)
    default: return
    }
  }

  /// Decodes the whole blocks in `source` into `destination`, which must hold exactly their
  /// elements.
  ///
  /// - Throws: ``DequantizationError`` when `dtype` has no decoder, `source` is not a whole
  ///   number of blocks, or `destination` has the wrong size.
  public static func dequantize(
    _ dtype: DType, from source: UnsafeRawBufferPointer,
    into destination: UnsafeMutableBufferPointer<Float>
  ) throws(DequantizationError) {
    guard supports(dtype) else {
      throw DequantizationError(
        .unsupportedType, "no F32 decoder for \(dtype.rawValue) values")
    }
    guard source.count % dtype.blockBytes == 0 else {
      throw DequantizationError(
        .sizeMismatch,
        "\(source.count) bytes are not whole \(dtype.rawValue) blocks of \(dtype.blockBytes)")
    }
    let blocks = source.count / dtype.blockBytes
    guard destination.count == blocks * dtype.blockSize else {
      throw DequantizationError(
        .sizeMismatch,
        "\(blocks) \(dtype.rawValue) blocks hold \(blocks * dtype.blockSize) values, "
          + "not \(destination.count)")
    }
    guard blocks > 0, let input = source.baseAddress, let output = destination.baseAddress
    else { return }
    dequantizeBlocks(dtype, from: input, blockCount: blocks, into: output)
  }

  /// The F32 values of the whole blocks in `source`.
  ///
  /// - Throws: ``DequantizationError`` as ``dequantize(_:from:into:)``.
  public static func dequantize(_ dtype: DType, from source: UnsafeRawBufferPointer)
    throws(DequantizationError) -> [Float]
  {
    guard supports(dtype) else {
      throw DequantizationError(.unsupportedType, "no F32 decoder for \(dtype.rawValue) values")
    }
    guard source.count % dtype.blockBytes == 0 else {
      throw DequantizationError(
        .sizeMismatch,
        "\(source.count) bytes are not whole \(dtype.rawValue) blocks of \(dtype.blockBytes)")
    }
    let count = source.count / dtype.blockBytes * dtype.blockSize
    var result = [Float](repeating: 0, count: count)
    result.withUnsafeMutableBufferPointer { output in
      guard let input = source.baseAddress, let out = output.baseAddress else { return }
      dequantizeBlocks(
        dtype, from: input, blockCount: source.count / dtype.blockBytes, into: out)
    }
    return result
  }
}
