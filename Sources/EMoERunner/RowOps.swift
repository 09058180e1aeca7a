/// Small row-wise helpers on row-major F32 matrices shared by the runners.
enum RowOps {
  /// Adds `bias` (`columns` values) to each of `rows` rows of `matrix` (row stride `stride`).
  static func addBias(
    _ bias: [Float], to matrix: UnsafeMutablePointer<Float>, rows: Int, columns: Int,
    stride: Int? = nil
  ) {
    bias.withUnsafeBufferPointer { b in
      addBias(b.baseAddress!, to: matrix, rows: rows, columns: columns, stride: stride)
    }
  }

  /// Adds `bias` (`columns` values) to each of `rows` rows of `matrix` (row stride `stride`).
  static func addBias(
    _ bias: UnsafePointer<Float>, to matrix: UnsafeMutablePointer<Float>, rows: Int,
    columns: Int, stride: Int? = nil
  ) {
    let stride = stride ?? columns
    for row in 0..<rows {
      let target = matrix + row * stride
      for column in 0..<columns { target[column] += bias[column] }
    }
  }
}
