/// Symmetric per-row int8 quantisation: one F32 scale per row and one signed byte per value.
///
/// For a row `x`: `scale = max |x| / 127` (F32 division), `id = scale == 0 ? 0 : 1 / scale`,
/// `q = round-half-away(x · id)` in `[-127, 127]` (the F32 reciprocal is multiplied, as ggml's
/// Q8_0 does, rather than dividing each value), and decoding is `y = Float(q) · scale`. A zero
/// row has scale 0 and codes 0. A NaN in a row makes its scale NaN and every code 0, so the whole
/// row decodes to NaN; an infinity gives scale infinity, finite values code 0 and the infinity
/// itself code 0. This is Q8_0 with one block per row and an F32 scale.
public enum Int8RowQuantizer {
  /// Quantises one row of `count` values; writes `count` codes and returns the row's scale.
  @discardableResult
  public static func quantizeRow(
    _ row: UnsafePointer<Float>, count: Int, into codes: UnsafeMutablePointer<Int8>
  ) -> Float {
    let scale = absoluteMaximum(row, count: count) / 127
    let inverse: Float = scale == 0 ? 0 : 1 / scale
    let vectorScale = SIMD16<Float>(repeating: inverse)
    let raw = UnsafeRawPointer(row)
    let target = UnsafeMutableRawPointer(codes)
    var index = 0
    while index &+ 16 <= count {
      let values = raw.loadUnaligned(fromByteOffset: index &* 4, as: SIMD16<Float>.self)
      target.storeBytes(
        of: Int8Rounding.codes(values * vectorScale), toByteOffset: index, as: SIMD16<Int8>.self)
      index &+= 16
    }
    while index < count {
      codes[index] = Int8Rounding.code(row[index] * inverse)
      index &+= 1
    }
    return scale
  }

  /// Quantises a row-major `rows × columns` matrix: codes in the same layout, one scale per row.
  public static func quantize(
    _ values: UnsafePointer<Float>, rows: Int, columns: Int,
    codes: UnsafeMutablePointer<Int8>, scales: UnsafeMutablePointer<Float>
  ) {
    for row in 0..<rows {
      scales[row] = quantizeRow(
        values + row &* columns, count: columns, into: codes + row &* columns)
    }
  }

  /// Quantises a row-major `rows × columns` matrix held in an array.
  public static func quantize(_ values: [Float], rows: Int, columns: Int) -> (
    codes: [Int8], scales: [Float]
  ) {
    precondition(rows >= 0 && columns >= 0 && rows * columns == values.count, "shape mismatch")
    var codes = [Int8](repeating: 0, count: values.count)
    var scales = [Float](repeating: 0, count: rows)
    values.withUnsafeBufferPointer { input in
      codes.withUnsafeMutableBufferPointer { codeBuffer in
        scales.withUnsafeMutableBufferPointer { scaleBuffer in
          guard let source = input.baseAddress, let target = codeBuffer.baseAddress,
            let scaleTarget = scaleBuffer.baseAddress
          else { return }
          quantize(source, rows: rows, columns: columns, codes: target, scales: scaleTarget)
        }
      }
    }
    return (codes, scales)
  }

  /// Decodes one row: `y = Float(q) · scale`.
  public static func dequantizeRow(
    _ codes: UnsafePointer<Int8>, count: Int, scale: Float, into row: UnsafeMutablePointer<Float>
  ) {
    for index in 0..<count { row[index] = Float(codes[index]) * scale }
  }

  /// Decodes a row-major `rows × columns` matrix of codes with one scale per row.
  public static func dequantize(_ codes: [Int8], scales: [Float], columns: Int) -> [Float] {
    precondition(columns >= 0 && codes.count == scales.count * columns, "shape mismatch")
    var result = [Float](repeating: 0, count: codes.count)
    codes.withUnsafeBufferPointer { input in
      result.withUnsafeMutableBufferPointer { output in
        guard let source = input.baseAddress, let target = output.baseAddress else { return }
        for (row, scale) in scales.enumerated() {
          dequantizeRow(
            source + row * columns, count: columns, scale: scale, into: target + row * columns)
        }
      }
    }
    return result
  }

  /// `max |x|` over `count` values; NaN wins, as in numpy's `max` (compared as integer bit
  /// patterns, like ``Q8_0Quantizer``).
  static func absoluteMaximum(_ values: UnsafePointer<Float>, count: Int) -> Float {
    let raw = UnsafeRawPointer(values)
    let mask = SIMD4<Int32>(repeating: 0x7FFF_FFFF)
    var a = SIMD4<Int32>(repeating: 0)
    var b = SIMD4<Int32>(repeating: 0)
    var index = 0
    while index &+ 8 <= count {
      let c = raw.loadUnaligned(fromByteOffset: index &* 4, as: SIMD4<Int32>.self) & mask
      let d = raw.loadUnaligned(fromByteOffset: index &* 4 &+ 16, as: SIMD4<Int32>.self) & mask
      a.replace(with: c, where: c .> a)
      b.replace(with: d, where: d .> b)
      index &+= 8
    }
    a.replace(with: b, where: b .> a)
    var result = max(max(a[0], a[1]), max(a[2], a[3]))
    while index < count {
      result = max(result, Int32(bitPattern: values[index].bitPattern & 0x7FFF_FFFF))
      index &+= 1
    }
    return Float(bitPattern: UInt32(bitPattern: result))
  }
}
