import EMoECore

extension DType {
  /// The dtypes a safetensors file may hold, in the reference's `Dtype` declaration order, which
  /// is increasing alignment; the writer sorts by this rank (descending) so every tensor's data
  /// is naturally aligned.
  public static let safeTensorsOrder: [DType] = [
    .bool, .f4, .f6E2M3, .f6E3M2, .u8, .i8, .f8E5M2, .f8E4M3, .f8E8M0, .f8E4M3FNUZ, .f8E5M2FNUZ,
    .i16, .u16, .f16, .bf16, .i32, .u32, .f32, .c64, .f64, .i64, .u64,
  ]

  private static let safeTensorsRanks: [DType: Int] = Dictionary(
    uniqueKeysWithValues: safeTensorsOrder.enumerated().map { ($1, $0) })

  /// The dtype named `string` in a safetensors header, or `nil` when safetensors has no such
  /// dtype (ggml block types such as `Q4_0` are not safetensors dtypes).
  public init?(safeTensorsName string: String) {
    guard let dtype = DType(rawValue: string), dtype.safeTensorsRank != nil else { return nil }
    self = dtype
  }

  /// The position in the reference's `Dtype` enum, or `nil` when safetensors cannot store it.
  public var safeTensorsRank: Int? { DType.safeTensorsRanks[self] }

  /// Bits per element for a safetensors dtype (4 for F4, 6 for F6, 64 for C64's two F32 parts).
  var safeTensorsBits: Int { bitsPerBlock / blockSize }
}
