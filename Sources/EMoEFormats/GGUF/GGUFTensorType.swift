import EMoECore

/// A ggml tensor type number as stored in a GGUF tensor info (`enum ggml_type`), with its name
/// and the ``DType`` emoe-pack reads it as.
public struct GGUFTensorType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
  /// The type number in the file.
  public var rawValue: UInt32

  /// Wraps a type number, known or not.
  public init(rawValue: UInt32) { self.rawValue = rawValue }

  /// The ggml type for `dtype`, or `nil` when ggml has no such tensor type (U8, BOOL, FP8, …).
  public init?(dtype: DType) {
    guard let number = Self.numberOf[dtype] else { return nil }
    rawValue = number
  }

  /// The element type emoe-pack reads this ggml type as, or `nil` when it cannot.
  public var dtype: DType? { Self.dtypeOf[rawValue] }

  /// ggml's name for the type (`"Q4_K"`, `"IQ2_XXS"`, …), or `nil` for numbers ggml never used.
  public var name: String? { Self.names[rawValue] }

  /// Whether the number was assigned once and removed from ggml (Q4_2, Q4_0_4_4, …), so no valid
  /// file uses it.
  public var isRemoved: Bool { Self.removed.contains(rawValue) }

  /// `Q4_K (12)`, or `99` for an unknown number.
  public var description: String {
    name.map { "\($0) (\(rawValue))" } ?? "\(rawValue)"
  }

  private static let dtypeOf: [UInt32: DType] = [
    0: .f32, 1: .f16, 2: .q4_0, 3: .q4_1, 6: .q5_0, 7: .q5_1, 8: .q8_0, 9: .q8_1, 10: .q2_K,
    11: .q3_K, 12: .q4_K, 13: .q5_K, 14: .q6_K, 15: .q8_K, 24: .i8, 25: .i16, 26: .i32, 27: .i64,
    28: .f64, 30: .bf16,
  ]

  private static let numberOf: [DType: UInt32] = Dictionary(
    uniqueKeysWithValues: dtypeOf.map { ($0.value, $0.key) })

  private static let removed: Set<UInt32> = [4, 5, 31, 32, 33, 36, 37, 38]

  // From ggml's `enum ggml_type` (include/ggml.h), including the numbers it has retired.
  private static let names: [UInt32: String] = [
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 4: "Q4_2", 5: "Q4_3", 6: "Q5_0", 7: "Q5_1",
    8: "Q8_0", 9: "Q8_1", 10: "Q2_K", 11: "Q3_K", 12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 15: "Q8_K",
    16: "IQ2_XXS", 17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S", 20: "IQ4_NL", 21: "IQ3_S",
    22: "IQ2_S", 23: "IQ4_XS", 24: "I8", 25: "I16", 26: "I32", 27: "I64", 28: "F64", 29: "IQ1_M",
    30: "BF16", 31: "Q4_0_4_4", 32: "Q4_0_4_8", 33: "Q4_0_8_8", 34: "TQ1_0", 35: "TQ2_0",
    36: "IQ4_NL_4_4", 37: "IQ4_NL_4_8", 38: "IQ4_NL_8_8", 39: "MXFP4", 40: "NVFP4", 41: "Q1_0",
    42: "Q2_0",
  ]
}
