import EMoECore

/// Quantises F32 values to ggml's Q5_0 blocks, byte-identical to `gguf.quants.quantize`.
///
/// Per 32-value block: `max` is the value of largest magnitude with its sign (the first such),
/// `d = max / -16` and `id = d == 0 ? 0 : 1 / d` in F32, and code
/// `q = clip(trunc(x · id + 16.5), 0, 31)` in F32, a separate multiply and add (ggml's C
/// rounding of the same expression can differ where its compiler fuses them). The stored scale
/// is `d` rounded to F16, nearest even; the codes use the unrounded F32 `id`. See
/// LegacyBlockRounding for non-finite values. Decoding is `y = d · (q − 16)`.
public enum Q5_0Quantizer {
  /// Values per block.
  public static let blockSize = 32
  /// Bytes per block.
  public static let blockBytes = 22

  /// Quantises `blockCount` blocks of 32 floats at `source` into `blockCount · 22` bytes at
  /// `destination`, without checking sizes.
  public static func quantizeBlocks(
    _ source: UnsafePointer<Float>, blockCount: Int, into destination: UnsafeMutableRawPointer
  ) {
    var codes = (0..<32).map { _ in UInt8(0) }
    codes.withUnsafeMutableBufferPointer { buffer in
      let q = buffer.baseAddress!
      for block in 0..<blockCount {
        let input = source + block &* 32
        let output = destination + block &* 22
        let d = LegacyBlockRounding.signedMaximum(input) / -16
        let inverse = LegacyBlockRounding.inverse(d)
        for j in 0..<32 {
          q[j] = LegacyBlockRounding.symmetricCode(
            input[j], inverse: inverse, offset: 16.5, top: 31)
        }
        output.storeBytes(of: HalfPrecision.f16(from: d).littleEndian, as: UInt16.self)
        LegacyBlockRounding.pack(q, fifthBits: true, into: output + 2)
      }
    }
  }

  /// The Q5_0 bytes of `values`, whose count must be a multiple of 32.
  ///
  /// - Throws: QuantizationError when the count is not a multiple of 32.
  public static func quantize(_ values: [Float]) throws(QuantizationError) -> [UInt8] {
    try LegacyBlockRounding.quantize(values, name: "Q5_0", blockBytes: blockBytes) {
      quantizeBlocks($0, blockCount: $1, into: $2)
    }
  }
}
