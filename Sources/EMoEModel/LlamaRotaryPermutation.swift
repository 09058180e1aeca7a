/// The row permutation llama.cpp's converter applies to LLaMA's query and key projections.
///
/// Hugging Face rotates each head's two halves (`rotate_half`); llama.cpp's `llama` rotary
/// embedding rotates adjacent pairs. `convert_hf_to_gguf.py` (`LlamaModel.permute`) therefore
/// reorders each head's rows so that GGUF row `2i + j` holds Hugging Face row `j · hd/2 + i`,
/// for a head of `hd` rows. Rows are `columns` values long (1 for a bias).
public enum LlamaRotaryPermutation {
  /// Reorders Hugging Face rows into GGUF order.
  public static func permute<T>(_ values: [T], heads: Int, columns: Int) -> [T] {
    reorder(values, heads: heads, columns: columns, toGGUF: true)
  }

  /// Reorders GGUF rows back into Hugging Face order.
  public static func unpermute<T>(_ values: [T], heads: Int, columns: Int) -> [T] {
    reorder(values, heads: heads, columns: columns, toGGUF: false)
  }

  private static func reorder<T>(_ values: [T], heads: Int, columns: Int, toGGUF: Bool) -> [T] {
    guard heads > 0, columns > 0, !values.isEmpty else { return values }
    let rows = values.count / columns
    let headSize = rows / heads
    let half = headSize / 2
    var result = values
    for head in 0..<heads {
      for i in 0..<half {
        for j in 0..<2 {
          let huggingFaceRow = head * headSize + j * half + i
          let ggufRow = head * headSize + 2 * i + j
          let (target, source) = toGGUF ? (ggufRow, huggingFaceRow) : (huggingFaceRow, ggufRow)
          for column in 0..<columns {
            result[target * columns + column] = values[source * columns + column]
          }
        }
      }
    }
    return result
  }
}
