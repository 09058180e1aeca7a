import EMoECore
import EMoENumerics

/// The non-FFN pieces of a transformer layer, on row-major F32 matrices: normalisations,
/// linear maps, rotary embeddings and multi-head attention, written to follow PyTorch's
/// definitions (transformers' BertModel and LlamaModel).
enum TransformerMath {
  /// LayerNorm of each of `rows` rows in place: `(x − mean) / sqrt(var + ε) · weight + bias`
  /// with the biased variance; statistics in double precision.
  static func layerNorm(
    _ x: UnsafeMutablePointer<Float>, rows: Int, columns: Int, weight: [Float], bias: [Float],
    epsilon: Float
  ) {
    for row in 0..<rows {
      let values = x + row * columns
      var sum = 0.0
      for column in 0..<columns { sum += Double(values[column]) }
      let mean = sum / Double(columns)
      var squares = 0.0
      for column in 0..<columns {
        let centred = Double(values[column]) - mean
        squares += centred * centred
      }
      let inverse = 1 / (squares / Double(columns) + Double(epsilon)).squareRoot()
      for column in 0..<columns {
        values[column] =
          Float((Double(values[column]) - mean) * inverse) * weight[column] + bias[column]
      }
    }
  }

  /// RMSNorm of each of `rows` rows of `x` into `output`: `x / sqrt(mean(x²) + ε) · weight`,
  /// the mean in double precision.
  static func rmsNorm(
    _ x: UnsafePointer<Float>, rows: Int, columns: Int, weight: [Float], epsilon: Float,
    into output: UnsafeMutablePointer<Float>
  ) {
    for row in 0..<rows {
      let values = x + row * columns
      let target = output + row * columns
      var squares = 0.0
      for column in 0..<columns { squares += Double(values[column]) * Double(values[column]) }
      let inverse = Float(1 / (squares / Double(columns) + Double(epsilon)).squareRoot())
      for column in 0..<columns { target[column] = weight[column] * (values[column] * inverse) }
    }
  }

  /// `y = x · Wᵀ (+ bias)` for `rows` rows, W stored `[outputs, inputs]` (PyTorch Linear).
  static func linear(
    _ x: UnsafePointer<Float>, rows: Int, weight: [Float], bias: [Float]?, inputs: Int,
    outputs: Int, into y: UnsafeMutablePointer<Float>
  ) {
    weight.withUnsafeBufferPointer { w in
      BLAS.sgemm(
        .none, .transposed, m: rows, n: outputs, k: inputs, a: x, lda: inputs,
        b: w.baseAddress!, ldb: inputs, c: y, ldc: outputs)
    }
    if let bias { RowOps.addBias(bias, to: y, rows: rows, columns: outputs) }
  }

  /// The cosines and sines `[tokens, headDimension / 2]` of the rotary embedding at positions
  /// 0..<tokens, computed in F32 as transformers does (`inv_freq = 1 / θ^(2i/dim)`).
  static func ropeTables(tokens: Int, headDimension: Int, theta: Float) -> (
    cos: [Float], sin: [Float]
  ) {
    let half = headDimension / 2
    let inverseFrequencies = (0..<half).map { index -> Float in
      1 / powf(theta, Float(2 * index) / Float(headDimension))
    }
    var cosines = [Float](repeating: 0, count: tokens * half)
    var sines = [Float](repeating: 0, count: tokens * half)
    for position in 0..<tokens {
      for index in 0..<half {
        let angle = Float(position) * inverseFrequencies[index]
        cosines[position * half + index] = cosf(angle)
        sines[position * half + index] = sinf(angle)
      }
    }
    return (cosines, sines)
  }

  /// Applies the rotary embedding in Hugging Face's rotate-half convention to `heads` heads of
  /// each of `tokens` rows (row stride `heads · headDimension`): the pair of element i is
  /// element i + rotaryDimension/2.
  ///
  /// `rotaryDimension` (default: the whole head) rotates only each head's first values and
  /// leaves the rest, as GPT-NeoX's partial rotary does; `tables` are
  /// ``ropeTables(tokens:headDimension:theta:)`` for that many values.
  static func applyRope(
    _ x: UnsafeMutablePointer<Float>, tokens: Int, heads: Int, headDimension: Int,
    rotaryDimension: Int? = nil, tables: (cos: [Float], sin: [Float])
  ) {
    let half = (rotaryDimension ?? headDimension) / 2
    for token in 0..<tokens {
      for head in 0..<heads {
        let values = x + (token * heads + head) * headDimension
        for index in 0..<half {
          let c = tables.cos[token * half + index]
          let s = tables.sin[token * half + index]
          let first = values[index]
          let second = values[index + half]
          values[index] = first * c - second * s
          values[index + half] = second * c + first * s
        }
      }
    }
  }

  /// Scaled dot-product attention for every head: `softmax(q kᵀ / √hd (+ causal mask)) v`.
  ///
  /// `q` is `[tokens, heads · hd]`, `k` and `v` are `[tokens, kvHeads · hd]`; query head h
  /// uses key/value head `h / (heads / kvHeads)` (grouped-query attention). The result is
  /// `[tokens, heads · hd]`.
  static func attention(
    q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, tokens: Int,
    heads: Int, kvHeads: Int, headDimension: Int, causal: Bool, scale: Float? = nil,
    softcap: Float? = nil, into output: UnsafeMutablePointer<Float>
  ) {
    let scores = FloatBuffer(count: tokens * tokens)
    let qStride = heads * headDimension
    let kvStride = kvHeads * headDimension
    let group = heads / kvHeads
    let scale = scale ?? 1 / Float(headDimension).squareRoot()
    for head in 0..<heads {
      let kvHead = head / group
      BLAS.sgemm(
        .none, .transposed, m: tokens, n: tokens, k: headDimension, alpha: scale,
        a: q + head * headDimension, lda: qStride, b: k + kvHead * headDimension, ldb: kvStride,
        c: scores.pointer, ldc: tokens)
      for row in 0..<tokens {
        if let softcap {
          let values = scores.pointer + row * tokens
          for column in 0..<(causal ? row + 1 : tokens) {
            values[column] = softcap * tanhf(values[column] / softcap)
          }
        }
        softmax(scores.pointer + row * tokens, count: causal ? row + 1 : tokens)
        if causal {
          (scores.pointer + row * tokens + row + 1).update(repeating: 0, count: tokens - row - 1)
        }
      }
      BLAS.sgemm(
        .none, .none, m: tokens, n: headDimension, k: tokens, a: scores.pointer, lda: tokens,
        b: v + kvHead * headDimension, ldb: kvStride, c: output + head * headDimension,
        ldc: qStride)
    }
  }

  /// Adds `residual` to `values` elementwise.
  static func addResidual(
    _ residual: UnsafePointer<Float>, to values: UnsafeMutablePointer<Float>, count: Int
  ) {
    for index in 0..<count { values[index] += residual[index] }
  }

  /// Softmax of `count` values in place (the maximum subtracted; the sum in double precision).
  static func softmax(_ values: UnsafeMutablePointer<Float>, count: Int) {
    guard count > 0 else { return }
    var largest = -Float.infinity
    for index in 0..<count { largest = max(largest, values[index]) }
    var total = 0.0
    for index in 0..<count {
      values[index] = expf(values[index] - largest)
      total += Double(values[index])
    }
    for index in 0..<count { values[index] = Float(Double(values[index]) / total) }
  }
}
