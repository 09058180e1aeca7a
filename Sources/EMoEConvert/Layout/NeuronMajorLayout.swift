/// Moves FFN weights into the converted, neuron-major expert layout, bit for bit.
///
/// Every FFN matrix is stored with one row per neuron, so each expert's slice of each matrix is
/// one contiguous byte range: W1, Wg and Wu keep their rows (permuted); W2 and Wd, stored as
/// [d, n] in PyTorch, are transposed to [n, d]; GPT-2's Conv1D c_fc, stored as [d, n], is
/// transposed too. The functions move raw elements of any byte width, so F32, F16 and BF16
/// values (and whole quantised rows) are copied without conversion.
public enum NeuronMajorLayout {
  /// Copies rows of a row-major `[rows, rowBytes]` byte matrix in the order `permutation`
  /// (output row p = input row `permutation[p]`).
  public static func permuteRows(
    _ source: UnsafeRawBufferPointer, rowBytes: Int, permutation: [Int],
    into destination: UnsafeMutableRawBufferPointer
  ) {
    precondition(source.count == rowBytes * permutation.count, "source size")
    precondition(destination.count == source.count, "destination size")
    guard rowBytes > 0, let from = source.baseAddress, let to = destination.baseAddress else {
      return
    }
    for (position, row) in permutation.enumerated() {
      (to + position * rowBytes).copyMemory(from: from + row * rowBytes, byteCount: rowBytes)
    }
  }

  /// Transposes a row-major `[rows, columns]` matrix of `elementBytes`-wide elements into
  /// `[columns, rows]`, taking the columns in the order `permutation` (output row p = input
  /// column `permutation[p]`).
  public static func transposeColumns(
    _ source: UnsafeRawBufferPointer, rows: Int, elementBytes: Int, permutation: [Int],
    into destination: UnsafeMutableRawBufferPointer
  ) {
    let columns = permutation.count
    precondition(source.count == rows * columns * elementBytes, "source size")
    precondition(destination.count == source.count, "destination size")
    guard let from = source.baseAddress, let to = destination.baseAddress else { return }
    switch elementBytes {
    case 4: transpose(from, to, rows, permutation, UInt32.self)
    case 2: transpose(from, to, rows, permutation, UInt16.self)
    case 1: transpose(from, to, rows, permutation, UInt8.self)
    case 8: transpose(from, to, rows, permutation, UInt64.self)
    default:
      for (position, column) in permutation.enumerated() {
        for row in 0..<rows {
          (to + (position * rows + row) * elementBytes).copyMemory(
            from: from + (row * columns + column) * elementBytes, byteCount: elementBytes)
        }
      }
    }
  }

  /// Permutes a vector of `elementBytes`-wide elements (b1): output p = input `permutation[p]`.
  public static func permuteVector(
    _ source: UnsafeRawBufferPointer, elementBytes: Int, permutation: [Int],
    into destination: UnsafeMutableRawBufferPointer
  ) {
    permuteRows(source, rowBytes: elementBytes, permutation: permutation, into: destination)
  }

  private static func transpose<Element: FixedWidthInteger>(
    _ from: UnsafeRawPointer, _ to: UnsafeMutableRawPointer, _ rows: Int, _ permutation: [Int],
    _: Element.Type
  ) {
    let columns = permutation.count
    let input = from.assumingMemoryBound(to: Element.self)
    let output = to.assumingMemoryBound(to: Element.self)
    // Blocks of output rows keep the strided reads of one source row within a few cache lines.
    let block = 64
    for start in stride(from: 0, to: columns, by: block) {
      let end = min(start + block, columns)
      for row in 0..<rows {
        let sourceRow = input + row * columns
        for position in start..<end {
          output[position * rows + row] = sourceRow[permutation[position]]
        }
      }
    }
  }
}
