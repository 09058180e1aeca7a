import EMoENumerics

/// The EMoE forward pass of one FFN in canonical layout: route each token to its top-k experts
/// and combine their outputs (EMOE.md §5).
///
/// Two paths compute the same function. ``Path/masked`` is the reference: every neuron is
/// computed and the blocks of unselected experts are multiplied by zero (EMoE's own
/// formulation). ``Path/sparse`` groups tokens by expert and computes, for each expert, only its
/// row block for the tokens routed to it (gather, two or three GEMMs, scatter-add), at k/E of
/// the dense cost. Both use one ``ExpertRouting``, so their selections are identical; their
/// outputs agree to float rounding. Quantised rows are decoded one expert block at a time.
///
/// Results do not depend on the thread count: expert contributions are added to each token in
/// increasing expert order, and the only parallelism is inside BLAS, which splits its output
/// matrix without reordering any sum.
public struct ExpertFFN: FeedForwardBlock {
  /// Which computation ``forward(_:tokens:into:)`` uses.
  public enum Path: String, Sendable, Hashable, CaseIterable {
    /// Only the selected experts' blocks, per expert for its tokens.
    case sparse
    /// Every neuron, with unselected blocks zeroed (the reference).
    case masked
  }

  /// The weights in canonical layout.
  public let weights: ExpertFFNWeights
  /// The number of experts each token uses, k.
  public let topK: Int
  /// The computation used by ``forward(_:tokens:into:)``.
  public let path: Path
  /// How the selected experts' outputs are combined.
  public let combination: ExpertCombination

  /// The hidden size d.
  public var hiddenSize: Int { weights.hiddenSize }

  /// Creates the runner.
  ///
  /// - Throws: ``RunnerError`` when `topK` is not in `1...E`.
  public init(
    weights: ExpertFFNWeights, topK: Int, path: Path = .sparse,
    combination: ExpertCombination = .unitWeights
  ) throws(RunnerError) {
    guard (1...weights.expertCount).contains(topK) else {
      throw RunnerError("top-k \(topK) is not between 1 and the \(weights.expertCount) experts")
    }
    self.weights = weights
    self.topK = topK
    self.path = path
    self.combination = combination
  }

  /// Routes `tokens` rows of `input`: scores, top-k, weights.
  public func route(_ input: UnsafePointer<Float>, tokens: Int) -> ExpertRouting {
    // topK was checked against E when the runner was made, so routing cannot fail.
    try! weights.router.route(input, tokens: tokens, topK: topK, combination: combination)
  }

  /// Routes `input` and computes the EMoE FFN along ``path``.
  public func forward(
    _ input: UnsafePointer<Float>, tokens: Int, into output: UnsafeMutablePointer<Float>
  ) {
    let routing = route(input, tokens: tokens)
    try! forward(input, tokens: tokens, routing: routing, path: path, into: output)
  }

  /// Computes the EMoE FFN for a given routing along `path`.
  ///
  /// - Throws: ``RunnerError`` when `routing` is for another token or expert count.
  public func forward(
    _ input: UnsafePointer<Float>, tokens: Int, routing: ExpertRouting, path: Path,
    into output: UnsafeMutablePointer<Float>
  ) throws(RunnerError) {
    guard routing.tokens == tokens, routing.expertCount == weights.expertCount else {
      throw RunnerError(
        "a routing of \(routing.tokens) tokens over \(routing.expertCount) experts does not fit "
          + "\(tokens) tokens over \(weights.expertCount)")
    }
    switch path {
    case .masked: runMasked(input, tokens: tokens, mask: routing.mask(), into: output)
    case .sparse: runSparse(input, tokens: tokens, routing: routing, into: output)
    }
  }

  /// Computes the dense FFN (every expert, weight 1, no router) on the canonical layout; equal
  /// to the source FFN up to float rounding.
  public func forwardDense(
    _ input: UnsafePointer<Float>, tokens: Int, into output: UnsafeMutablePointer<Float>
  ) {
    runMasked(input, tokens: tokens, mask: nil, into: output)
  }

  // MARK: - Masked (reference)

  /// Row ranges decoded and multiplied together: everything at once when all three matrices are
  /// F32 readable in place, otherwise one expert block at a time.
  private var chunks: [Range<Int>] {
    if allReadableInPlace { return [0..<weights.intermediateSize] }
    return (0..<weights.expertCount).map(weights.expertRange).filter { !$0.isEmpty }
  }

  /// Whether every matrix is F32 that products can read without decoding.
  private var allReadableInPlace: Bool {
    [weights.gate, weights.up, weights.downTransposed].allSatisfy { $0?.isReadableInPlace ?? true }
  }

  private func runMasked(
    _ x: UnsafePointer<Float>, tokens: Int, mask: [Float]?, into y: UnsafeMutablePointer<Float>
  ) {
    let d = weights.hiddenSize
    let n = weights.intermediateSize
    guard tokens > 0 else { return }
    let chunks = chunks
    // F32 rows read in place need no decoding buffer.
    let scratch = FloatBuffer(
      count: allReadableInPlace ? 0 : (chunks.map(\.count).max() ?? 0) * d)
    let upOut = FloatBuffer(count: tokens * n)
    let gateOut = weights.form == .gated ? FloatBuffer(count: tokens * n) : nil
    for chunk in chunks {
      project(
        x, tokens: tokens, through: weights.up, rows: chunk, scratch: scratch,
        into: upOut.pointer + chunk.lowerBound, stride: n)
      if let gate = weights.gate, let gateOut {
        project(
          x, tokens: tokens, through: gate, rows: chunk, scratch: scratch,
          into: gateOut.pointer + chunk.lowerBound, stride: n)
      }
    }
    let product = activate(
      up: upOut.pointer, gate: gateOut?.pointer, tokens: tokens, rows: 0..<n, stride: n)
    if let mask {
      for token in 0..<tokens {
        for expert in 0..<weights.expertCount {
          let factor = mask[token * weights.expertCount + expert]
          if factor == 1 { continue }
          let row = product + token * n
          for column in weights.expertRange(expert) { row[column] *= factor }
        }
      }
    }
    for (index, chunk) in chunks.enumerated() {
      weights.downTransposed.withDecodedRows(chunk, scratch: scratch.pointer) { w in
        BLAS.sgemm(
          .none, .none, m: tokens, n: d, k: chunk.count, a: product + chunk.lowerBound, lda: n,
          b: w, ldb: d, beta: index == 0 ? 0 : 1, c: y, ldc: d)
      }
    }
    if chunks.isEmpty { y.update(repeating: 0, count: tokens * d) }
    if let downBias = weights.downBias { RowOps.addBias(downBias, to: y, rows: tokens, columns: d) }
  }

  // MARK: - Sparse

  private func runSparse(
    _ x: UnsafePointer<Float>, tokens: Int, routing: ExpertRouting,
    into y: UnsafeMutablePointer<Float>
  ) {
    let d = weights.hiddenSize
    y.update(repeating: 0, count: tokens * d)
    guard tokens > 0 else { return }
    let (offsets, tokenIndices, tokenWeights) = routing.groupedByExpert()
    let experts = weights.expertCount
    let maxTokens = (0..<experts).map { offsets[$0 + 1] - offsets[$0] }.max() ?? 0
    let maxRows = (0..<experts).map { weights.expertRange($0).count }.max() ?? 0
    let gathered = FloatBuffer(count: maxTokens * d)
    let upOut = FloatBuffer(count: maxTokens * maxRows)
    let gateOut = weights.form == .gated ? FloatBuffer(count: maxTokens * maxRows) : nil
    let expertOut = FloatBuffer(count: maxTokens * d)
    let scratch = FloatBuffer(count: maxRows * d)
    for expert in 0..<experts {
      let members = offsets[expert]..<offsets[expert + 1]
      let rows = weights.expertRange(expert)
      let count = members.count
      guard count > 0, !rows.isEmpty else { continue }
      for (slot, member) in members.enumerated() {
        (gathered.pointer + slot * d).update(from: x + tokenIndices[member] * d, count: d)
      }
      project(
        gathered.pointer, tokens: count, through: weights.up, rows: rows,
        scratch: scratch, into: upOut.pointer, stride: rows.count)
      if let gate = weights.gate, let gateOut {
        project(
          gathered.pointer, tokens: count, through: gate, rows: rows, scratch: scratch,
          into: gateOut.pointer, stride: rows.count)
      }
      let product = activate(
        up: upOut.pointer, gate: gateOut?.pointer, tokens: count, rows: rows, stride: rows.count)
      for (slot, member) in members.enumerated() where tokenWeights[member] != 1 {
        let factor = tokenWeights[member]
        let row = product + slot * rows.count
        for column in 0..<rows.count { row[column] *= factor }
      }
      weights.downTransposed.withDecodedRows(rows, scratch: scratch.pointer) { w in
        BLAS.sgemm(
          .none, .none, m: count, n: d, k: rows.count, a: product, lda: rows.count, b: w,
          ldb: d, c: expertOut.pointer, ldc: d)
      }
      for (slot, member) in members.enumerated() {
        let target = y + tokenIndices[member] * d
        let source = expertOut.pointer + slot * d
        for column in 0..<d { target[column] += source[column] }
      }
    }
    if let downBias = weights.downBias { RowOps.addBias(downBias, to: y, rows: tokens, columns: d) }
  }

  // MARK: - Shared steps

  /// `out[t, r] = x[t] · matrix[rows.lowerBound + r]` for `tokens` rows of `x`.
  private func project(
    _ x: UnsafePointer<Float>, tokens: Int, through matrix: EncodedRows, rows: Range<Int>,
    scratch: FloatBuffer, into out: UnsafeMutablePointer<Float>, stride: Int
  ) {
    let d = weights.hiddenSize
    matrix.withDecodedRows(rows, scratch: scratch.pointer) { w in
      BLAS.sgemm(
        .none, .transposed, m: tokens, n: rows.count, k: d, a: x, lda: d, b: w, ldb: d,
        c: out, ldc: stride)
    }
  }

  /// Adds the neuron biases of `rows` and applies the activation (and the GLU product);
  /// returns the buffer that holds the hidden activations.
  private func activate(
    up: UnsafeMutablePointer<Float>, gate: UnsafeMutablePointer<Float>?, tokens: Int,
    rows: Range<Int>, stride: Int
  ) -> UnsafeMutablePointer<Float> {
    let width = rows.count
    if let upBias = weights.upBias {
      upBias.withUnsafeBufferPointer { b in
        RowOps.addBias(
          b.baseAddress! + rows.lowerBound, to: up, rows: tokens, columns: width,
          stride: stride)
      }
    }
    guard let gate else {
      for token in 0..<tokens { weights.activation.apply(up + token * stride, count: width) }
      return up
    }
    if let gateBias = weights.gateBias {
      gateBias.withUnsafeBufferPointer { b in
        RowOps.addBias(
          b.baseAddress! + rows.lowerBound, to: gate, rows: tokens, columns: width,
          stride: stride)
      }
    }
    for token in 0..<tokens {
      weights.activation.applyGated(
        gate + token * stride, times: up + token * stride, count: width)
    }
    return gate
  }
}
