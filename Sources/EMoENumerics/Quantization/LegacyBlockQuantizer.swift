import EMoECore

/// Quantises F32 values to one of ggml's legacy 4- and 5-bit block types (Q4_0, Q4_1, Q5_0,
/// Q5_1), byte-identical to `gguf.quants.quantize`.
///
/// Every type stores 32 values per block as an F16 scale `d` (rounded to nearest even), for the
/// `_1` types an F16 minimum `m`, for the 5-bit types a word of fifth bits, then 16 bytes of
/// nibbles. In F32 arithmetic throughout, with a separate multiply and add (see
/// LegacyBlockRounding):
/// - symmetric (`_0`): `max` is the value of largest magnitude with its sign (the first such),
///   `d = max / −2^(b−1)`, code `q = clip(trunc(x · id + 2^(b−1) + 0.5), 0, 2^b − 1)`;
///   decoding is `y = d · (q − 2^(b−1))`;
/// - with a minimum (`_1`): `d = (max − min) / (2^b − 1)`,
///   code `q = clip(trunc((x − min) · id + 0.5), 0, 2^b − 1)`; decoding is `y = d · q + m`;
///
/// where `id = d == 0 ? 0 : 1 / d` and the codes use the unrounded F32 `d`, `min` and `id`.
public struct LegacyBlockQuantizer: Sendable {
  /// The ggml type name, for errors.
  public let name: String
  /// Bits per code: 4 or 5.
  public let bits: Int
  /// Whether blocks store a minimum (the `_1` types) instead of centring the codes (`_0`).
  public let storesMinimum: Bool

  /// Q4_0: 18-byte blocks.
  public static let q4_0 = LegacyBlockQuantizer(name: "Q4_0", bits: 4, storesMinimum: false)
  /// Q4_1: 20-byte blocks.
  public static let q4_1 = LegacyBlockQuantizer(name: "Q4_1", bits: 4, storesMinimum: true)
  /// Q5_0: 22-byte blocks.
  public static let q5_0 = LegacyBlockQuantizer(name: "Q5_0", bits: 5, storesMinimum: false)
  /// Q5_1: 24-byte blocks.
  public static let q5_1 = LegacyBlockQuantizer(name: "Q5_1", bits: 5, storesMinimum: true)

  /// Values per block.
  public static let blockSize = 32

  /// Bytes per block: the scale, the minimum, the fifth bits and the nibbles.
  public var blockBytes: Int { 2 + (storesMinimum ? 2 : 0) + (bits == 5 ? 4 : 0) + 16 }

  /// Quantises `blockCount` blocks of 32 floats at `source` into `blockCount · blockBytes`
  /// bytes at `destination`, without checking sizes.
  public func quantizeBlocks(
    _ source: UnsafePointer<Float>, blockCount: Int, into destination: UnsafeMutableRawPointer
  ) {
    let top = UInt8((1 << bits) - 1)
    let half = Float(1 << (bits - 1))
    let stride = blockBytes
    let codesOffset = storesMinimum ? 4 : 2
    var codes = [UInt8](repeating: 0, count: 32)
    codes.withUnsafeMutableBufferPointer { buffer in
      let q = buffer.baseAddress!
      for block in 0..<blockCount {
        let input = source + block &* 32
        let output = destination + block &* stride
        let d: Float
        if storesMinimum {
          let (high, low) = LegacyBlockRounding.range(input)
          d = (high - low) / Float(top)
          let inverse = LegacyBlockRounding.inverse(d)
          for j in 0..<32 {
            q[j] = LegacyBlockRounding.offsetCode(input[j], min: low, inverse: inverse, top: top)
          }
          output.storeBytes(
            of: HalfPrecision.f16(from: low).littleEndian, toByteOffset: 2, as: UInt16.self)
        } else {
          d = LegacyBlockRounding.signedMaximum(input) / -half
          let inverse = LegacyBlockRounding.inverse(d)
          for j in 0..<32 {
            q[j] = LegacyBlockRounding.symmetricCode(
              input[j], inverse: inverse, offset: half + 0.5, top: top)
          }
        }
        output.storeBytes(of: HalfPrecision.f16(from: d).littleEndian, as: UInt16.self)
        LegacyBlockRounding.pack(q, fifthBits: bits == 5, into: output + codesOffset)
      }
    }
  }

  /// The bytes of `values`, whose count must be a multiple of 32.
  ///
  /// - Throws: QuantizationError when the count is not a multiple of 32.
  public func quantize(_ values: [Float]) throws(QuantizationError) -> [UInt8] {
    try LegacyBlockRounding.quantize(values, name: name, blockBytes: blockBytes) {
      quantizeBlocks($0, blockCount: $1, into: $2)
    }
  }
}
