/// The element type of a tensor, covering safetensors dtypes and ggml's block-quantised types.
///
/// Plain types have a block size of one element. Quantised ggml types store `blockSize` elements
/// in `blockBytes` bytes; the format layers map these cases to their own type numbers or names.
public enum DType: String, CaseIterable, Sendable, Hashable, Codable {
  case f64 = "F64"
  case f32 = "F32"
  case f16 = "F16"
  case bf16 = "BF16"
  case i64 = "I64"
  case i32 = "I32"
  case i16 = "I16"
  case i8 = "I8"
  case u64 = "U64"
  case u32 = "U32"
  case u16 = "U16"
  case u8 = "U8"
  case bool = "BOOL"
  case c64 = "C64"
  case f8E4M3 = "F8_E4M3"
  case f8E5M2 = "F8_E5M2"
  case f8E8M0 = "F8_E8M0"
  case f8E4M3FNUZ = "F8_E4M3FNUZ"
  case f8E5M2FNUZ = "F8_E5M2FNUZ"
  case f6E2M3 = "F6_E2M3"
  case f6E3M2 = "F6_E3M2"
  case f4 = "F4"
  case q4_0 = "Q4_0"
  case q4_1 = "Q4_1"
  case q5_0 = "Q5_0"
  case q5_1 = "Q5_1"
  case q8_0 = "Q8_0"
  case q8_1 = "Q8_1"
  case q2_K = "Q2_K"
  case q3_K = "Q3_K"
  case q4_K = "Q4_K"
  case q5_K = "Q5_K"
  case q6_K = "Q6_K"
  case q8_K = "Q8_K"

  /// Elements stored together in one block (1 for plain types).
  public var blockSize: Int {
    switch self {
    case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1: 32
    case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K: 256
    default: 1
    }
  }

  /// Bits per element for plain types, or bits per block for quantised types.
  public var bitsPerBlock: Int {
    switch self {
    case .f64, .i64, .u64, .c64: 64
    case .f32, .i32, .u32: 32
    case .f16, .bf16, .i16, .u16: 16
    case .i8, .u8, .bool, .f8E4M3, .f8E5M2, .f8E8M0, .f8E4M3FNUZ, .f8E5M2FNUZ: 8
    case .f6E2M3, .f6E3M2: 6
    case .f4: 4
    case .q4_0: 18 * 8
    case .q4_1: 20 * 8
    case .q5_0: 22 * 8
    case .q5_1: 24 * 8
    case .q8_0: 34 * 8
    case .q8_1: 36 * 8
    case .q2_K: 84 * 8
    case .q3_K: 110 * 8
    case .q4_K: 144 * 8
    case .q5_K: 176 * 8
    case .q6_K: 210 * 8
    case .q8_K: 292 * 8
    }
  }

  /// Bytes of one block (for plain whole-byte types, the element size).
  public var blockBytes: Int { bitsPerBlock / 8 }

  /// Whether this is one of ggml's block-quantised types.
  public var isQuantized: Bool { blockSize > 1 }

  /// Whether values of this type can be converted to and from `Float` by ``HalfPrecision`` and
  /// plain casts (F64, F32, F16, BF16).
  public var isFloatingPoint: Bool {
    switch self {
    case .f64, .f32, .f16, .bf16: true
    default: false
    }
  }

  /// The number of bytes `elementCount` elements occupy, or `nil` on overflow or when the count
  /// does not fill whole blocks or whole bytes.
  public func byteCount(elementCount: Int) -> Int? {
    guard elementCount >= 0, elementCount % blockSize == 0 else { return nil }
    let (bits, overflow) = (elementCount / blockSize).multipliedReportingOverflow(by: bitsPerBlock)
    guard !overflow, bits % 8 == 0 else { return nil }
    return bits / 8
  }
}
