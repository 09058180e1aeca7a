import EMoECore

/// Quantises F32 values to ggml's Q8_0 blocks, byte-identical to `gguf.quants.quantize` (and so
/// to ggml's `quantize_row_q8_0_ref`).
///
/// Per 32-value block, in F32 arithmetic throughout: `amax = max |x|`, `d = amax / 127`,
/// `id = d == 0 ? 0 : 1 / d`, `q = round-half-away(x · id)` (see ``Int8Rounding``), and the
/// stored scale is `d` rounded to F16, nearest even (``EMoECore/HalfPrecision/f16(from:)``).
/// The codes use the unrounded F32 `id`.
/// A NaN anywhere in a block makes its `amax`, scale and `id` NaN, like numpy's `max`; NaN and
/// infinite products give code 0, as numpy's cast does on x86-64.
public enum Q8_0Quantizer {
  /// Values per block.
  public static let blockSize = 32
  /// Bytes per block: an F16 scale and 32 signed codes.
  public static let blockBytes = 34

  /// Quantises `blockCount` blocks of 32 floats at `source` into `blockCount · 34` bytes at
  /// `destination`, without checking sizes.
  public static func quantizeBlocks(
    _ source: UnsafePointer<Float>, blockCount: Int, into destination: UnsafeMutableRawPointer
  ) {
    // Four blocks at a time share one vector division for their scales and reciprocals, which
    // otherwise stall each block on two scalar divisions.
    var block = 0
    while block &+ 4 <= blockCount {
      let input = source + block &* 32
      let amax = SIMD4<Float>(
        absoluteMaximum(input), absoluteMaximum(input + 32), absoluteMaximum(input + 64),
        absoluteMaximum(input + 96))
      let d = amax / 127
      let inverse = SIMD4<Float>(repeating: 0).replacing(with: 1 / d, where: d .!= 0)
      for lane in 0..<4 {
        writeBlock(
          input + lane &* 32, d: d[lane], inverse: inverse[lane],
          into: destination + (block &+ lane) &* 34)
      }
      block &+= 4
    }
    while block < blockCount {
      let input = source + block &* 32
      let d = absoluteMaximum(input) / 127
      let inverse: Float = d == 0 ? 0 : 1 / d
      writeBlock(input, d: d, inverse: inverse, into: destination + block &* 34)
      block &+= 1
    }
  }

  /// Writes one block: the F16 scale `d`, then the codes of `input · inverse`.
  @inline(__always)
  static func writeBlock(
    _ input: UnsafePointer<Float>, d: Float, inverse: Float, into output: UnsafeMutableRawPointer
  ) {
    output.storeBytes(of: HalfPrecision.f16(from: d).littleEndian, as: UInt16.self)
    let scale = SIMD16<Float>(repeating: inverse)
    let raw = UnsafeRawPointer(input)
    for half in 0..<2 {
      let values = raw.loadUnaligned(fromByteOffset: half &* 64, as: SIMD16<Float>.self)
      output.storeBytes(
        of: Int8Rounding.codes(values * scale), toByteOffset: 2 &+ half &* 16,
        as: SIMD16<Int8>.self)
    }
  }

  /// Quantises `source`, whose count must be a multiple of 32, into `destination`, which must
  /// hold exactly `source.count / 32 · 34` bytes.
  ///
  /// - Throws: ``QuantizationError`` when the sizes do not fit.
  public static func quantize(
    _ source: UnsafeBufferPointer<Float>, into destination: UnsafeMutableRawBufferPointer
  ) throws(QuantizationError) {
    guard source.count % blockSize == 0 else {
      throw QuantizationError("\(source.count) values are not whole Q8_0 blocks of 32")
    }
    let blocks = source.count / blockSize
    guard destination.count == blocks * blockBytes else {
      throw QuantizationError(
        "\(blocks) Q8_0 blocks need \(blocks * blockBytes) bytes, not \(destination.count)")
    }
    guard blocks > 0, let input = source.baseAddress, let output = destination.baseAddress
    else { return }
    quantizeBlocks(input, blockCount: blocks, into: output)
  }

  /// The Q8_0 bytes of `values`, whose count must be a multiple of 32.
  ///
  /// - Throws: ``QuantizationError`` when the count is not a multiple of 32.
  public static func quantize(_ values: [Float]) throws(QuantizationError) -> [UInt8] {
    guard values.count % blockSize == 0 else {
      throw QuantizationError("\(values.count) values are not whole Q8_0 blocks of 32")
    }
    let blocks = values.count / blockSize
    var bytes = [UInt8](repeating: 0, count: blocks * blockBytes)
    values.withUnsafeBufferPointer { input in
      bytes.withUnsafeMutableBytes { output in
        guard blocks > 0, let source = input.baseAddress, let target = output.baseAddress
        else { return }
        quantizeBlocks(source, blockCount: blocks, into: target)
      }
    }
    return bytes
  }

  /// `max |x|` over 32 values; NaN wins, as in numpy's `max`.
  ///
  /// Compares magnitudes as integers: for non-negative floats the bit patterns order like the
  /// values, and every NaN pattern lies above infinity's. (With several NaNs of different
  /// payloads the largest payload wins, where numpy keeps the first.)
  @inline(__always)
  static func absoluteMaximum(_ values: UnsafePointer<Float>) -> Float {
    let raw = UnsafeRawPointer(values)
    let mask = SIMD4<Int32>(repeating: 0x7FFF_FFFF)
    var a = raw.loadUnaligned(fromByteOffset: 0, as: SIMD4<Int32>.self) & mask
    var b = raw.loadUnaligned(fromByteOffset: 16, as: SIMD4<Int32>.self) & mask
    for chunk in 1..<4 {
      let c = raw.loadUnaligned(fromByteOffset: chunk &* 32, as: SIMD4<Int32>.self) & mask
      let d = raw.loadUnaligned(fromByteOffset: chunk &* 32 &+ 16, as: SIMD4<Int32>.self) & mask
      a.replace(with: c, where: c .> a)
      b.replace(with: d, where: d .> b)
    }
    a.replace(with: b, where: b .> a)
    let pair = max(a[0], a[1])
    let other = max(a[2], a[3])
    return Float(bitPattern: UInt32(bitPattern: max(pair, other)))
  }
}
