import EMoECore
import EMoEFormats
import EMoERunner

/// The sparse EMoE path against the masked reference at a given top-k, with the same expert
/// selections.
///
/// The reference is the verifier's own (``CanonicalFFN``): every neuron computed from the fully
/// decoded rows, the hidden activations multiplied by a mask built from the *record's* expert
/// sizes, and the selection made from gate scores summed in double precision (ties to the lower
/// expert index). So it shares neither the runner's expert boundaries nor its routing, and a
/// layout whose blocks disagree with the record (a wrong boundary) shows up here.
///
/// The runner's router picks the experts, and both its paths (`.sparse`, `.masked`) run on that
/// routing. A token whose selection differs from the reference fails the check, unless the
/// reference scores of its k-th and (k+1)-th experts lie within the float error of a score
/// (`2 (d + 2) 2⁻²⁴ max_e Σ_j |G_ej x_j|`, plus the bias; for the up-abs router the expert's
/// mean of its neurons' `Σ_j |Wu_ij x_j| + |bu_i|`): such a near tie may go either way,
/// and the token is left out of the output comparison. Outputs pass when
/// `max|y − y_ref| / max|y_ref| ≤ tolerance` for both paths.
public enum SparseMaskedCheck {
  /// What the check found.
  public struct Outcome: Sendable {
    /// The number of experts selected per token.
    public var topK: Int
    /// Tokens whose router selection differs from the reference beyond a near tie:
    /// (token, the router's experts, the reference's experts), both sorted.
    public var selectionMismatches: [(token: Int, router: [Int], reference: [Int])]
    /// Tokens left out because their selection differs only at a near tie.
    public var nearTies: Int
    /// The sparse path against the reference.
    public var sparse: OutputComparison
    /// The runner's masked path against the reference.
    public var masked: OutputComparison
    /// Tokens routed to each expert by the router.
    public var load: [Int]
    /// The relative tolerance applied.
    public var tolerance: Double
    /// A failed `finite` check when the reference or a path's output holds NaN or infinity.
    public var nonFinite: VerificationCheck?

    /// Whether the outputs are finite, the selections agree and both paths are within tolerance.
    public var ok: Bool {
      nonFinite == nil && selectionMismatches.isEmpty && sparse.maxRelative <= tolerance
        && masked.maxRelative <= tolerance
    }
  }

  /// Runs the check on `tokens` rows of `inputs` (`[tokens, d]`).
  ///
  /// - Parameters:
  ///   - weights: the layout under test (its router, matrices and expert boundaries).
  ///   - expertSizes: the expert sizes the record states, which the reference masks by.
  ///   - sharedCount: the shared neurons the record states, which the reference never masks.
  /// - Throws: ``RunnerError`` when `topK` is not in `1...E` or the sizes do not fit n.
  public static func run(
    weights: ExpertFFNWeights, expertSizes: [Int], sharedCount: Int = 0, inputs: [Float],
    tokens: Int, topK: Int, tolerance: Double
  ) throws -> Outcome {
    let d = weights.hiddenSize
    let n = weights.intermediateSize
    let experts = expertSizes.count
    guard experts == weights.expertCount, (0..<n).contains(sharedCount),
      expertSizes.reduce(0, +) == n - sharedCount, expertSizes.allSatisfy({ $0 >= 0 })
    else {
      throw RunnerError(
        "the record's \(experts) expert sizes summing to \(expertSizes.reduce(0, +)) and "
          + "\(sharedCount) shared neurons do not fit \(weights.expertCount) experts over \(n) "
          + "neurons")
    }
    guard tokens >= 0, inputs.count == tokens * d else {
      throw RunnerError("\(inputs.count) input values are not [\(tokens), \(d)]")
    }
    let runner = try ExpertFFN(weights: weights, topK: topK)
    let routing = inputs.withUnsafeBufferPointer { runner.route($0.baseAddress!, tokens: tokens) }

    // The reference selection, from double-precision scores.
    let gate = weights.router.weights
    let bias = weights.router.bias
    let canonical = CanonicalFFN(weights)
    // Shared neurons (-1) are never masked and never scored.
    var expertOfNeuron = [Int](repeating: -1, count: n)
    var start = sharedCount
    for (expert, size) in expertSizes.enumerated() {
      for neuron in start..<(start + size) { expertOfNeuron[neuron] = expert }
      start += size
    }
    var referenceSelection: [[Int]] = []
    var nearTieTokens = Set<Int>()
    var mismatches: [(token: Int, router: [Int], reference: [Int])] = []
    for token in 0..<tokens {
      var scores = [Double](repeating: 0, count: experts)
      var largestMagnitude = 0.0
      if weights.router.scoring == .upAbs {
        // Each expert's mean of |u_i|, u = Wu x + bu from the fully decoded rows; a score's
        // float error is at most the mean of its neurons' dot-product error bounds.
        var magnitudes = [Double](repeating: 0, count: experts)
        for neuron in 0..<n where expertOfNeuron[neuron] >= 0 {
          var sum = Double(canonical.upBias?[neuron] ?? 0)
          var magnitude = abs(sum)
          for column in 0..<d {
            let term =
              Double(canonical.up[neuron * d + column]) * Double(inputs[token * d + column])
            sum += term
            magnitude += abs(term)
          }
          let expert = expertOfNeuron[neuron]
          scores[expert] += abs(sum) / Double(max(expertSizes[expert], 1))
          magnitudes[expert] += magnitude / Double(max(expertSizes[expert], 1))
        }
        largestMagnitude = magnitudes.max() ?? 0
      } else {
        for expert in 0..<experts {
          var sum = 0.0
          var magnitude = 0.0
          for column in 0..<d {
            let term = Double(gate[expert * d + column]) * Double(inputs[token * d + column])
            sum += term
            magnitude += abs(term)
          }
          let b = Double(bias?[expert] ?? 0)
          scores[expert] = sum + b
          largestMagnitude = max(largestMagnitude, magnitude + abs(b))
        }
      }
      let order = (0..<experts).sorted { a, b in
        let (x, y) = (scores[a], scores[b])
        if x.isNaN != y.isNaN { return !x.isNaN }
        return x > y || (x == y && a < b)
      }
      let chosen = Array(order.prefix(topK)).sorted()
      referenceSelection.append(chosen)
      let routed = routing.experts(ofToken: token).sorted()
      guard routed != chosen else { continue }
      let tieTolerance = 2 * Double(d + 2) * 0x1p-24 * largestMagnitude
      if topK < experts, abs(scores[order[topK - 1]] - scores[order[topK]]) <= tieTolerance {
        nearTieTokens.insert(token)
      } else {
        mismatches.append((token, routed, chosen))
      }
    }

    // The reference output: every neuron, masked by the record's blocks.
    let pass = canonical.pass(inputs, tokens: tokens)

    var neuronMask = [Float](repeating: 0, count: tokens * n)
    for token in 0..<tokens {
      var selected = [Bool](repeating: false, count: experts)
      for expert in referenceSelection[token] { selected[expert] = true }
      for neuron in 0..<n where expertOfNeuron[neuron] < 0 || selected[expertOfNeuron[neuron]] {
        neuronMask[token * n + neuron] = 1
      }
    }
    let reference = canonical.output(hidden: pass.hidden, tokens: tokens, neuronMask: neuronMask)

    var sparseOutput = [Float](repeating: 0, count: tokens * d)
    var maskedOutput = [Float](repeating: 0, count: tokens * d)
    try inputs.withUnsafeBufferPointer { x in
      try sparseOutput.withUnsafeMutableBufferPointer { y in
        try runner.forward(
          x.baseAddress!, tokens: tokens, routing: routing, path: .sparse, into: y.baseAddress!)
      }
      try maskedOutput.withUnsafeMutableBufferPointer { y in
        try runner.forward(
          x.baseAddress!, tokens: tokens, routing: routing, path: .masked, into: y.baseAddress!)
      }
    }
    let excluded = Set(mismatches.map(\.token)).union(nearTieTokens)
    let include = (0..<tokens).map { !excluded.contains($0) }
    var load = [Int](repeating: 0, count: experts)
    for expert in routing.selected { load[expert] += 1 }
    return Outcome(
      topK: topK, selectionMismatches: mismatches, nearTies: nearTieTokens.count,
      sparse: OutputComparison(
        sparseOutput, reference: reference, tokens: tokens, width: d, include: include),
      masked: OutputComparison(
        maskedOutput, reference: reference, tokens: tokens, width: d, include: include),
      load: load, tolerance: tolerance,
      nonFinite: FiniteCheck.outputs(
        [
          ("the masked reference's output", reference), ("the sparse path's output", sparseOutput),
          ("the masked path's output", maskedOutput),
        ], tokens: tokens, width: d, name: "k=\(topK)", layer: nil))
  }

  /// The outcome as a check of `layer`.
  static func check(_ outcome: Outcome, layer: Int) -> VerificationCheck {
    let name = "layer \(layer) k=\(outcome.topK)"
    let measures: [JSONMember] = [
      JSONMember("k", .integer(Int64(outcome.topK))),
      JSONMember("sparse", .object(outcome.sparse.measures)),
      JSONMember("masked", .object(outcome.masked.measures)),
      JSONMember("selection_mismatches", .integer(Int64(outcome.selectionMismatches.count))),
      JSONMember("near_ties", .integer(Int64(outcome.nearTies))),
      JSONMember("load", .array(outcome.load.map { .integer(Int64($0)) })),
      JSONMember("tolerance", .number(outcome.tolerance)),
    ]
    if var nonFinite = outcome.nonFinite {
      nonFinite.name = name
      nonFinite.layer = layer
      return nonFinite
    }
    let loadText =
      "load min \(outcome.load.min() ?? 0) / max \(outcome.load.max() ?? 0) tokens per expert"
    if let first = outcome.selectionMismatches.first {
      return .failed(
        .sparseMasked, name, layer: layer,
        detail: "token \(first.token): the router selects experts \(first.router), the reference "
          + "\(first.reference) (\(outcome.selectionMismatches.count) tokens differ)",
        measures: measures)
    }
    let figures =
      "sparse max rel \(NumberText.short(outcome.sparse.maxRelative)), masked "
      + NumberText.short(outcome.masked.maxRelative)
    guard outcome.ok else {
      return .failed(
        .sparseMasked, name, layer: layer,
        detail: figures + " > tolerance \(NumberText.short(outcome.tolerance)) against the "
          + "masked reference (same selections)", measures: measures)
    }
    let ties = outcome.nearTies > 0 ? ", \(outcome.nearTies) near ties left out" : ""
    return .passed(
      .sparseMasked, name, layer: layer,
      detail: figures + ", selections identical\(ties); " + loadText, measures: measures)
  }
}
