/// How `convert` stores expert weight matrices: as the source holds them, or requantised.
///
/// Only the FFN matrices of converted layers are affected; gates, biases, permutations and
/// passthrough tensors are never quantised. Rows that the source already stores block-quantised
/// (GGUF `ffn_gate`/`ffn_up`) are kept as they are, since requantising them would only lose
/// precision.
public enum ExpertQuantization: String, Sendable, Hashable, CaseIterable {
  /// Keep the values: moved bit for bit, or decoded to F32 where blocks must be split.
  case none
  /// Symmetric int8 per row with an F32 scale per row (`int8_rows` in the container).
  case int8
  /// ggml Q8_0 blocks along each row (the row length d must be a multiple of 32).
  case q8_0
}
