import Dispatch
import EMoENumerics
import Synchronization

/// The EMoE forward pass of one FFN in canonical layout: route each token to its top-k experts
/// and combine their outputs (EMOE.md §5).
///
/// Two paths compute the same function. ``Path/masked`` is the reference: every neuron is
/// computed and the blocks of unselected experts are multiplied by zero (EMoE's own
/// formulation). ``Path/sparse`` groups tokens by expert and computes, for each expert, only its
/// row block for the tokens routed to it (gather, two or three GEMMs, scatter-add), at k/E of
/// the dense cost. Both use one ``ExpertRouting``, so their selections are identical; their
/// outputs agree to float rounding. Quantised rows are decoded one expert block at a time.
/// A shared block (rows before the first expert) is outside the routing: both paths compute it
/// for every token with weight 1, the sparse path as one dense product before the experts.
///
/// Results do not depend on the thread count: the masked path's parallelism is inside BLAS,
/// which splits its output matrix without reordering any sum; the sparse path runs experts in
/// parallel, each with single-threaded products whose shapes the routing fixes, and adds expert
/// contributions to each token in increasing expert order.
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
    select(scores(input, tokens: tokens), tokens: tokens)
  }

  /// The top-k selection of scores `[tokens, E]`.
  func select(_ scores: [Float], tokens: Int) -> ExpertRouting {
    // topK was checked against E when the runner was made, and the scores are [tokens, E].
    try! ExpertRouting.select(
      scores: scores, tokens: tokens, expertCount: weights.expertCount, topK: topK,
      combination: combination)
  }

  /// Routes `input` and computes the EMoE FFN along ``path``.
  ///
  /// The up-abs router projects every neuron's up row to score the experts; both paths reuse
  /// that projection rather than compute the selected experts' rows again.
  public func forward(
    _ input: UnsafePointer<Float>, tokens: Int, into output: UnsafeMutablePointer<Float>
  ) {
    let (scores, projection) = scoresAndUpProjection(input, tokens: tokens)
    let routing = select(scores, tokens: tokens)
    switch path {
    case .masked:
      runMasked(
        input, tokens: tokens, mask: routing.mask(), precomputedUp: projection?.pointer,
        into: output)
    case .sparse:
      runSparse(
        input, tokens: tokens, routing: routing, outputBudget: Self.sparseOutputBudget,
        precomputedUp: projection?.pointer, into: output)
    }
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
  var chunks: [Range<Int>] {
    if allReadableInPlace { return [0..<weights.intermediateSize] }
    let experts = (0..<weights.expertCount).map(weights.expertRange)
    return ([0..<weights.sharedCount] + experts).filter { !$0.isEmpty }
  }

  /// Whether every matrix is F32 that products can read without decoding.
  var allReadableInPlace: Bool {
    [weights.gate, weights.up, weights.downTransposed].allSatisfy { $0?.isReadableInPlace ?? true }
  }

  /// The masked path; `precomputedUp` is the up projection of every neuron `[tokens, n]`
  /// without its bias, when routing computed it already.
  private func runMasked(
    _ x: UnsafePointer<Float>, tokens: Int, mask: [Float]?,
    precomputedUp: UnsafePointer<Float>? = nil, into y: UnsafeMutablePointer<Float>
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
    if let precomputedUp { upOut.pointer.update(from: precomputedUp, count: tokens * n) }
    for chunk in chunks {
      if precomputedUp == nil {
        project(
          x, tokens: tokens, through: weights.up, rows: chunk, scratch: scratch,
          into: upOut.pointer + chunk.lowerBound, stride: n)
      }
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

  /// How many F32 values of expert outputs the sparse path keeps at once (64 MiB): experts run
  /// in waves whose outputs fit, and each wave is added to the tokens before the next starts.
  static let sparseOutputBudget = 1 << 24

  private func runSparse(
    _ x: UnsafePointer<Float>, tokens: Int, routing: ExpertRouting,
    into y: UnsafeMutablePointer<Float>
  ) {
    runSparse(
      x, tokens: tokens, routing: routing, outputBudget: Self.sparseOutputBudget, into: y)
  }

  /// The sparse path with a given bound on the expert outputs kept at once.
  ///
  /// Experts run in parallel, each on one worker with single-threaded GEMMs into its own rows
  /// of a wave buffer; then each token adds its experts' rows in increasing expert order. Which
  /// worker computes which expert never changes a bit: every product's shape is fixed by the
  /// routing, and every token's sum has a fixed order. `outputBudget` (F32 values) bounds the
  /// wave buffer; tests lower it to run several waves. `precomputedUp`, the up projection of
  /// every neuron `[tokens, n]` without bias, is copied from rather than computed again.
  func runSparse(
    _ x: UnsafePointer<Float>, tokens: Int, routing: ExpertRouting, outputBudget: Int,
    precomputedUp: UnsafePointer<Float>? = nil, into y: UnsafeMutablePointer<Float>
  ) {
    let d = weights.hiddenSize
    guard tokens > 0, d > 0 else { return }
    // The shared block first, for every token; the experts' rows are then added to it.
    runShared(x, tokens: tokens, into: y)
    let (offsets, tokenIndices, tokenWeights) = routing.groupedByExpert()
    let experts = weights.expertCount
    let members = (0..<experts).map { offsets[$0 + 1] - offsets[$0] }
    // Experts without rows or without tokens contribute nothing and are skipped.
    let active = (0..<experts).filter { members[$0] > 0 && !weights.expertRange($0).isEmpty }
    guard let maxTokens = active.map({ members[$0] }).max() else {
      if let downBias = weights.downBias {
        RowOps.addBias(downBias, to: y, rows: tokens, columns: d)
      }
      return
    }
    let maxRows = active.map { weights.expertRange($0).count }.max() ?? 0

    // Each token's members (indices into the grouped order) in increasing expert order.
    var tokenStarts = [Int](repeating: 0, count: tokens + 1)
    for expert in active {
      for member in offsets[expert]..<offsets[expert + 1] {
        tokenStarts[tokenIndices[member] + 1] += 1
      }
    }
    for token in 0..<tokens { tokenStarts[token + 1] += tokenStarts[token] }
    var tokenMembers = [Int](repeating: 0, count: tokenStarts[tokens])
    var filled = Array(tokenStarts.dropLast())
    for expert in active {
      for member in offsets[expert]..<offsets[expert + 1] {
        let token = tokenIndices[member]
        tokenMembers[filled[token]] = member
        filled[token] += 1
      }
    }

    // Waves: runs of consecutive experts whose output rows fit the budget. Skipped experts'
    // members keep their places too, so a member's row is its offset from the wave's first.
    let waveRows = max(members.max() ?? 0, outputBudget / d)
    var waves: [Range<Int>] = []
    var waveStart = 0
    var rowsInWave = 0
    for expert in 0..<experts {
      if rowsInWave + members[expert] > waveRows, rowsInWave > 0 {
        waves.append(waveStart..<expert)
        waveStart = expert
        rowsInWave = 0
      }
      rowsInWave += members[expert]
    }
    waves.append(waveStart..<experts)

    let workers = max(1, min(BLAS.threadCount, active.count))
    let readInPlace = allReadableInPlace
    let scratch = (0..<workers).map { _ in
      SparseScratch(
        tokens: maxTokens, rows: maxRows, hiddenSize: d, gated: weights.form == .gated,
        decoding: !readInPlace)
    }
    let waveOutput = FloatBuffer(count: min(waveRows, offsets[experts]) * d)
    nonisolated(unsafe) let x = x
    nonisolated(unsafe) let y = y
    nonisolated(unsafe) let precomputedUp = precomputedUp
    let starts = tokenStarts
    let grouped = tokenMembers

    for wave in waves {
      let base = offsets[wave.lowerBound]
      let end = offsets[wave.upperBound]
      // Largest first, ties by index: a fixed order that keeps the workers' loads even.
      let order = active.filter { wave.contains($0) }.sorted {
        members[$0] != members[$1] ? members[$0] > members[$1] : $0 < $1
      }
      let next = Atomic<Int>(0)
      let computeExperts: @Sendable (Int) -> Void = { worker in
        while true {
          let index = next.add(1, ordering: .relaxed).oldValue
          guard index < order.count else { return }
          let expert = order[index]
          computeExpert(
            expert, x: x, tokenIndices: tokenIndices[offsets[expert]..<offsets[expert + 1]],
            tokenWeights: tokenWeights[offsets[expert]..<offsets[expert + 1]],
            scratch: scratch[worker], precomputedUp: precomputedUp,
            into: waveOutput.pointer + (offsets[expert] - base) * d)
        }
      }
      // Each token adds its experts' rows in increasing expert order, whoever computed them.
      let tokenBlock = (tokens + workers - 1) / workers
      let addToTokens: @Sendable (Int) -> Void = { worker in
        // More workers than tokens leaves the last ones an empty range.
        for token in min(tokens, worker * tokenBlock)..<min(tokens, (worker + 1) * tokenBlock) {
          let target = y + token * d
          for member in grouped[starts[token]..<starts[token + 1]]
          where member >= base && member < end {
            let source = waveOutput.pointer + (member - base) * d
            for column in 0..<d { target[column] += source[column] }
          }
        }
      }
      if workers == 1 {
        computeExperts(0)
        addToTokens(0)
      } else {
        DispatchQueue.concurrentPerform(iterations: workers, execute: computeExperts)
        DispatchQueue.concurrentPerform(iterations: workers, execute: addToTokens)
      }
    }
    if let downBias = weights.downBias { RowOps.addBias(downBias, to: y, rows: tokens, columns: d) }
  }

  /// Writes the shared block's output for every token into `y` (zeros without a shared block):
  /// one dense product per matrix over all tokens, whose BLAS threads split the output without
  /// reordering any sum.
  private func runShared(
    _ x: UnsafePointer<Float>, tokens: Int, into y: UnsafeMutablePointer<Float>
  ) {
    let d = weights.hiddenSize
    let rows = 0..<weights.sharedCount
    guard !rows.isEmpty else {
      y.update(repeating: 0, count: tokens * d)
      return
    }
    let scratch = FloatBuffer(count: allReadableInPlace ? 0 : rows.count * d)
    let upOut = FloatBuffer(count: tokens * rows.count)
    let gateOut = weights.form == .gated ? FloatBuffer(count: tokens * rows.count) : nil
    project(
      x, tokens: tokens, through: weights.up, rows: rows, scratch: scratch,
      into: upOut.pointer, stride: rows.count)
    if let gate = weights.gate, let gateOut {
      project(
        x, tokens: tokens, through: gate, rows: rows, scratch: scratch, into: gateOut.pointer,
        stride: rows.count)
    }
    let product = activate(
      up: upOut.pointer, gate: gateOut?.pointer, tokens: tokens, rows: rows, stride: rows.count)
    weights.downTransposed.withDecodedRows(rows, scratch: scratch.pointer) { w in
      BLAS.sgemm(
        .none, .none, m: tokens, n: d, k: rows.count, a: product, lda: rows.count, b: w, ldb: d,
        beta: 0, c: y, ldc: d)
    }
  }

  /// One expert's output rows for its tokens, with single-threaded products (the caller runs
  /// experts in parallel): gather, up (and gate) projection, activation, routing weights, down
  /// projection into `out` (`tokenIndices.count × d`).
  private func computeExpert(
    _ expert: Int, x: UnsafePointer<Float>, tokenIndices: ArraySlice<Int>,
    tokenWeights: ArraySlice<Float>, scratch: SparseScratch,
    precomputedUp: UnsafePointer<Float>?, into out: UnsafeMutablePointer<Float>
  ) {
    let d = weights.hiddenSize
    let rows = weights.expertRange(expert)
    let count = tokenIndices.count
    let gathered = scratch.gathered.pointer
    for (slot, token) in tokenIndices.enumerated() {
      (gathered + slot * d).update(from: x + token * d, count: d)
    }
    if let precomputedUp {
      let n = weights.intermediateSize
      for (slot, token) in tokenIndices.enumerated() {
        (scratch.up.pointer + slot * rows.count).update(
          from: precomputedUp + token * n + rows.lowerBound, count: rows.count)
      }
    } else {
      project(
        gathered, tokens: count, through: weights.up, rows: rows, scratch: scratch.decoded,
        into: scratch.up.pointer, stride: rows.count, parallel: false)
    }
    if let gate = weights.gate, let gateOut = scratch.gate {
      project(
        gathered, tokens: count, through: gate, rows: rows, scratch: scratch.decoded,
        into: gateOut.pointer, stride: rows.count, parallel: false)
    }
    let product = activate(
      up: scratch.up.pointer, gate: scratch.gate?.pointer, tokens: count, rows: rows,
      stride: rows.count)
    for (slot, factor) in tokenWeights.enumerated() where factor != 1 {
      let row = product + slot * rows.count
      for column in 0..<rows.count { row[column] *= factor }
    }
    weights.downTransposed.withDecodedRows(rows, scratch: scratch.decoded.pointer) { w in
      BLAS.sgemm(
        .none, .none, m: count, n: d, k: rows.count, a: product, lda: rows.count, b: w,
        ldb: d, c: out, ldc: d, parallel: false)
    }
  }

  // MARK: - Shared steps

  /// `out[t, r] = x[t] · matrix[rows.lowerBound + r]` for `tokens` rows of `x`.
  func project(
    _ x: UnsafePointer<Float>, tokens: Int, through matrix: EncodedRows, rows: Range<Int>,
    scratch: FloatBuffer, into out: UnsafeMutablePointer<Float>, stride: Int,
    parallel: Bool = true
  ) {
    let d = weights.hiddenSize
    matrix.withDecodedRows(rows, scratch: scratch.pointer) { w in
      BLAS.sgemm(
        .none, .transposed, m: tokens, n: rows.count, k: d, a: x, lda: d, b: w, ldb: d,
        c: out, ldc: stride, parallel: parallel)
    }
  }

  /// Adds the neuron biases of `rows` and applies the activation (and the GLU product);
  /// returns the buffer that holds the hidden activations.
  func activate(
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
