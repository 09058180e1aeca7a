import EMoECore

/// Quantises F32 values to ggml's Q4_1 blocks, byte-identical to `gguf.quants.quantize`.
///
/// Per 32-value block, in F32 arithmetic throughout: `d = (max − min) / 15`,
/// `id = d == 0 ? 0 : 1 / d` and code `q = clip(trunc((x − min) · id + 0.5), 0, 15)` (a separate
/// multiply and add, as numpy evaluates it). The stored scale `d` and minimum `m` are rounded
/// to F16, nearest even; the codes use the unrounded F32 `min` and `id`. See
/// LegacyBlockRounding for non-finite values. Decoding is `y = d · q + m`.
public enum Q4_1Quantizer {
  /// Values per block.
  public static let blockSize = 32
  /// Bytes per block.
  public static let blockBytes = 20

  /// Quantises `blockCount` blocks of 32 floats at `source` into `blockCount · 20` bytes at
  /// `destination`, without checking sizes.
  public static func quantizeBlocks(
    _ source: UnsafePointer<Float>, blockCount: Int, into destination: UnsafeMutableRawPointer
  ) {
    var codes = (0..<32).map { _ in UInt8(0) }
    codes.withUnsafeMutableBufferPointer { buffer in
      let q = buffer.baseAddress!
      for block in 0..<blockCount {
        let input = source + block &* 32
        let output = destination + block &* 20
        let (high, low) = LegacyBlockRounding.range(input)
        let d: Float = (high - low) / 15
        let inverse = LegacyBlockRounding.inverse(d)
        for j in 0..<32 {
          q[j] = LegacyBlockRounding.offsetCode(input[j], min: low, inverse: inverse, top: 15)
        }
        output.storeBytes(of: HalfPrecision.f16(from: d).littleEndian, as: UInt16.self)
        output.storeBytes(
          of: HalfPrecision.f16(from: low).littleEndian, toByteOffset: 2, as: UInt16.self)
        LegacyBlockRounding.pack(q, fifthBits: false, into: output + 4)
      }
    }
  }

  /// The Q4_1 bytes of `values`, whose count must be a multiple of 32.
  ///
  /// - Throws: QuantizationError when the count is not a multiple of 32.
  public static func quantize(_ values: [Float]) throws(QuantizationError) -> [UInt8] {
    try LegacyBlockRounding.quantize(values, name: "Q4_1", blockBytes: blockBytes) {
      quantizeBlocks($0, blockCount: $1, into: $2)
    }
  }
}
