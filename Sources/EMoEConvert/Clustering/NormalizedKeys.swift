import EMoENumerics

/// L2-normalised keys, row-major `count × dimension`, with their squared norms (1, or 0 for an
/// all-zero key).
struct NormalizedKeys: Sendable {
  let count: Int
  let dimension: Int
  let values: [Float]
  let squaredNorms: [Float]
  /// The same norms as Double, for the SSE identity `Σ‖x‖² − Σ_e |e| ‖m_e‖²` used between
  /// iterations (the reported SSE is summed directly).
  let exactSquaredNorms: [Double]
  /// The Gram matrix `X·Xᵀ` (`count × count`) when `count` ≤ ``gramLimit``, for the swap search.
  let gram: [Float]?

  /// Keys up to this count get a Gram matrix (64 MiB at the limit).
  static let gramLimit = 4096

  /// Normalises each row of `keys`.
  ///
  /// - Throws: ``ClusteringError/nonFinite(row:)`` for a row holding NaN or infinity.
  init(normalising keys: UnsafeBufferPointer<Float>, count: Int, dimension: Int)
    throws(ClusteringError)
  {
    self.count = count
    self.dimension = dimension
    var values = [Float](repeating: 0, count: count * dimension)
    var norms = [Float](repeating: 0, count: count)
    var badRow: Int?
    values.withUnsafeMutableBufferPointer { out in
      for row in 0..<count {
        let base = row * dimension
        let sum = Self.sumOfSquares(keys.baseAddress! + base, dimension)
        if sum.isFinite && sum > 1e-30 {
          let scale = 1 / sum.squareRoot()
          for column in 0..<dimension { out[base + column] = keys[base + column] * scale }
        } else {
          // Float squares overflowed or underflowed: redo the row in Double.
          var wide = 0.0
          for column in 0..<dimension {
            wide += Double(keys[base + column]) * Double(keys[base + column])
          }
          guard wide.isFinite else {
            badRow = row
            return
          }
          guard wide > 0 else { continue }
          let scale = 1 / wide.squareRoot()
          for column in 0..<dimension {
            out[base + column] = Float(Double(keys[base + column]) * scale)
          }
        }
        norms[row] = Self.sumOfSquares(UnsafePointer(out.baseAddress! + base), dimension)
      }
    }
    if let badRow { throw .nonFinite(row: badRow) }
    self.values = values
    self.squaredNorms = norms
    self.exactSquaredNorms = norms.map(Double.init)
    if count <= Self.gramLimit {
      var gram = [Float](repeating: 0, count: count * count)
      values.withUnsafeBufferPointer { x in
        gram.withUnsafeMutableBufferPointer { out in
          BLAS.sgemm(
            .none, .transposed, m: count, n: count, k: dimension, a: x.baseAddress!,
            lda: dimension, b: x.baseAddress!, ldb: dimension, c: out.baseAddress!, ldc: count)
        }
      }
      self.gram = gram
    } else {
      self.gram = nil
    }
  }

  /// The sum of squares of `count` floats, in sixteen lanes.
  static func sumOfSquares(_ start: UnsafePointer<Float>, _ count: Int) -> Float {
    var lanes = SIMD16<Float>()
    var column = 0
    while column + 16 <= count {
      let value = UnsafeRawPointer(start + column).loadUnaligned(as: SIMD16<Float>.self)
      lanes += value * value
      column += 16
    }
    var sum = lanes.sum()
    while column < count {
      sum += start[column] * start[column]
      column += 1
    }
    return sum
  }
}
