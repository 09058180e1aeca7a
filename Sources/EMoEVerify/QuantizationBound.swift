import EMoECore
import EMoEFormats

/// The largest error a lossy stored encoding can put into each value, given the source values
/// it encodes: the bound `verify` holds requantised tensors to.
///
/// The bounds follow from how emoe-pack quantises (docs/quantisation.md), with the F32
/// rounding of every step included:
///
/// - **int8 rows** (`scale = max|row| / 127`, `q = round(x / scale)`, `x̂ = q · scale`):
///   `|x − x̂| ≤ (1/2 + 2⁻¹²) · max|row| / 127`. Rounding to the nearest code costs half a step;
///   the F32 scale, reciprocal and products add under 400 units of 2⁻²⁴ of a step, which
///   2⁻¹² covers many times over.
/// - **Q8_0** (per 32 values `d = max|block| / 127`, codes from the F32 `d`, `d` stored as F16):
///   `|x − x̂| ≤ (1/2 + 2⁻¹²) · d + 127 · max(2⁻¹¹ · d, 2⁻²⁵) · (1 + 2⁻¹⁰)`; the second term is
///   the F16 rounding of the scale (relative 2⁻¹¹, or 2⁻²⁵ absolute in F16's subnormal range)
///   times the largest code.
/// - **F16 / BF16** narrowing: half a unit in the last place, `2⁻¹¹ · |x| + 2⁻²⁵` and
///   `2⁻⁸ · |x| + 2⁻¹³⁴`.
enum QuantizationBound: Sendable, Equatable {
  /// Values are stored exactly: no error is allowed.
  case none
  /// Per-row symmetric int8 with an F32 scale per row.
  case int8Rows
  /// ggml Q8_0 blocks of 32 along each row.
  case q8_0
  /// Narrowed to IEEE half precision.
  case f16
  /// Narrowed to bfloat16.
  case bf16
  /// A lossy encoding with no known bound.
  case unknown(DType)

  /// The bound scheme of a stored tensor whose values are lossy.
  init(lossy entry: ContainerTensorEntry) {
    if case .int8Rows = entry.declaration.encoding {
      self = .int8Rows
      return
    }
    switch entry.dtype {
    case .q8_0: self = .q8_0
    case .f16: self = .f16
    case .bf16: self = .bf16
    default: self = .unknown(entry.dtype)
    }
  }

  /// A name for reports.
  var name: String {
    switch self {
    case .none: "exact"
    case .int8Rows: "int8 rows"
    case .q8_0: "Q8_0"
    case .f16: "F16"
    case .bf16: "BF16"
    case .unknown(let dtype): dtype.rawValue
    }
  }

  /// The per-value bounds of a row-major `[rows, columns]` matrix of source values, or `nil`
  /// for ``unknown(_:)``.
  func bounds(_ values: [Float], rows: Int, columns: Int) -> [Float]? {
    var result = [Float](repeating: 0, count: values.count)
    switch self {
    case .none:
      return result
    case .unknown:
      return nil
    case .int8Rows:
      for row in 0..<rows {
        let slice = (row * columns)..<((row + 1) * columns)
        let step = Double(Self.absoluteMaximum(values[slice])) / 127
        let bound = Float((0.5 + 0x1p-12) * step)
        for index in slice { result[index] = bound }
      }
    case .q8_0:
      let blocks = values.count / 32
      for block in 0..<blocks {
        let slice = (block * 32)..<((block + 1) * 32)
        let d = Double(Self.absoluteMaximum(values[slice])) / 127
        let bound = Float((0.5 + 0x1p-12) * d + 127 * max(0x1p-11 * d, 0x1p-25) * (1 + 0x1p-10))
        for index in slice { result[index] = bound }
      }
    case .f16:
      for index in values.indices {
        result[index] = Float(0x1p-11 * Double(abs(values[index])) + 0x1p-25)
      }
    case .bf16:
      for index in values.indices {
        result[index] = Float(0x1p-8 * Double(abs(values[index])) + 0x1p-134)
      }
    }
    return result
  }

  /// `max |x|` (NaN wins, so a NaN row's bound is NaN and every comparison with it fails).
  static func absoluteMaximum(_ values: ArraySlice<Float>) -> Float {
    var largest: Float = 0
    for value in values {
      if value.isNaN { return .nan }
      largest = max(largest, abs(value))
    }
    return largest
  }
}
