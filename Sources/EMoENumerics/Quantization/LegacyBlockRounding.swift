/// The rounding steps gguf-py's `quantize_blocks` uses for ggml's legacy 4- and 5-bit types,
/// used by ``LegacyBlockQuantizer`` (Q4_0, Q4_1, Q5_0 and Q5_1).
///
/// gguf-py 0.19 is the reference. Everything is F32 with a separate multiply and add (numpy never
/// fuses them): the symmetric types compute `trunc(x · id + offset)`, the types with a minimum
/// `trunc((x − min) · id + 0.5)`, and numpy's `astype(np.uint8)` then `clip` turn the result into
/// a code. (ggml's C reference can differ by one code where its compiler fuses the
/// multiply-add.) A NaN or infinite value gives code 0, as numpy's cast does on x86-64.
enum LegacyBlockRounding {
  /// The value of largest magnitude in 32 values, with its sign, as
  /// `take_along_axis(x, argmax(|x|))`: the first of equal magnitudes, and the first NaN.
  @inline(__always)
  static func signedMaximum(_ values: UnsafePointer<Float>) -> Float {
    var best = values[0]
    if best.isNaN { return best }
    var magnitude = best.magnitude
    for index in 1..<32 {
      let value = values[index]
      if value.isNaN { return value }
      if value.magnitude > magnitude {
        best = value
        magnitude = value.magnitude
      }
    }
    return best
  }

  /// `(max, min)` of 32 values, NaN for both when any value is NaN (numpy's `max`/`min`).
  @inline(__always)
  static func range(_ values: UnsafePointer<Float>) -> (max: Float, min: Float) {
    var high = values[0]
    var low = values[0]
    var sawNaN = high.isNaN
    for index in 1..<32 {
      let value = values[index]
      sawNaN = sawNaN || value.isNaN
      high = value > high ? value : high
      low = value < low ? value : low
    }
    return sawNaN ? (.nan, .nan) : (high, low)
  }

  /// The reciprocal numpy's `np.where(d == 0, 0, 1 / d)` gives, in F32.
  @inline(__always)
  static func inverse(_ d: Float) -> Float { d == 0 ? 0 : 1 / d }

  /// A truncated value made a code in `0...top`: non-finite gives 0; negative values wrap
  /// through the x86 int32 conversion to their low byte before the clip (unreachable for finite
  /// inputs, whose truncated values are never below 0).
  @inline(__always)
  static func code(_ truncated: Double, top: UInt8) -> UInt8 {
    guard truncated.isFinite, truncated > -2_147_483_648, truncated < 2_147_483_648 else {
      return 0
    }
    let byte = UInt8(truncatingIfNeeded: Int32(truncated))
    return min(byte, top)
  }

  /// The code of `x` for a symmetric type: `trunc(x · id + offset)` in F32.
  @inline(__always)
  static func symmetricCode(_ x: Float, inverse: Float, offset: Float, top: UInt8) -> UInt8 {
    let scaled: Float = x * inverse
    let shifted: Float = scaled + offset
    return code(Double(shifted.rounded(.towardZero)), top: top)
  }

  /// The code of `x` for a type with a minimum: `trunc((x − min) · id + 0.5)` in F32.
  @inline(__always)
  static func offsetCode(_ x: Float, min: Float, inverse: Float, top: UInt8) -> UInt8 {
    let scaled: Float = (x - min) * inverse
    let shifted: Float = scaled + 0.5
    return code(Double(shifted.rounded(.towardZero)), top: top)
  }

  /// Stores 32 codes as ggml packs them: 16 bytes whose low nibbles are codes 0–15 and high
  /// nibbles codes 16–31, preceded for 5-bit types by a little-endian word whose bit `j` is
  /// bit 4 of code `j`.
  @inline(__always)
  static func pack(
    _ codes: UnsafePointer<UInt8>, fifthBits: Bool, into output: UnsafeMutableRawPointer
  ) {
    var nibbles = output
    if fifthBits {
      var high: UInt32 = 0
      for j in 0..<32 { high |= UInt32((codes[j] >> 4) & 1) << UInt32(j) }
      output.storeBytes(of: high.littleEndian, as: UInt32.self)
      nibbles += 4
    }
    for j in 0..<16 {
      nibbles.storeBytes(
        of: (codes[j] & 0x0F) | (codes[j &+ 16] << 4), toByteOffset: j, as: UInt8.self)
    }
  }

  /// Checks sizes for a whole-array quantiser and runs `blocks` over the values.
  static func quantize(
    _ values: [Float], name: String, blockBytes: Int,
    _ blocks: (UnsafePointer<Float>, Int, UnsafeMutableRawPointer) -> Void
  ) throws(QuantizationError) -> [UInt8] {
    guard values.count % 32 == 0 else {
      throw QuantizationError("\(values.count) values are not whole \(name) blocks of 32")
    }
    let count = values.count / 32
    var bytes = [UInt8](repeating: 0, count: count * blockBytes)
    values.withUnsafeBufferPointer { input in
      bytes.withUnsafeMutableBytes { output in
        guard count > 0, let source = input.baseAddress, let target = output.baseAddress
        else { return }
        blocks(source, count, target)
      }
    }
    return bytes
  }
}
