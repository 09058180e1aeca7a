import EMoECore
import EMoEFormats
import EMoEModel
import EMoENumerics
import EMoERunner

/// The EMoE FFN of a layer at k = E (every expert, weight 1, sparse path) against the dense
/// FFN of the source layer on the same inputs.
///
/// When every stored matrix holds the source values (exact or lossless) the two differ only by
/// the order of float sums, and the check passes when `max|Δ| / max|y_dense| ≤ tolerance`
/// (1e-5 by default). When a matrix is stored lossy (int8 rows, Q8_0), each output value must
/// lie within a first-order error bound computed from the data plus the same float tolerance:
///
/// ```
/// ε_u = δ_u · |x|                      (δ: per-weight QuantizationBound, so |ΔWx| ≤ ε)
/// plain: Δh = L · ε_u
/// GLU:   Δh = L · ε_g · (|u| + ε_u) + |act(g)| · ε_u
/// |Δy| ≤ (|W_d| + δ_d) · Δh + δ_d · |h| + tolerance · max|y_dense|
/// ```
///
/// with `u`, `g`, `h` the dense source's pre-activations and hidden activations and `L = 1.13`
/// the largest slope of GELU (1.129) and SiLU (1.100) (1 for ReLU). It is a worst case over the
/// signs of the errors, so the measured error typically uses a few percent of it.
struct EquivalenceCheck {
  let record: ContainerLayerRecord
  let container: ContainerFile
  let source: SourceLayerValues
  let weights: ExpertFFNWeights
  let inputs: [Float]
  let tokens: Int
  let tolerance: Double

  /// The check result.
  func run() -> VerificationCheck {
    let layer = record.layer
    let name = "layer \(layer) k=E"
    let d = record.hiddenSize
    let reference: [Float]
    let output: [Float]
    do {
      let dense = try DenseFFN(source.ffn)
      reference = try dense.forward(inputs, tokens: tokens)
      let emoe = try ExpertFFN(weights: weights, topK: weights.expertCount, path: .sparse)
      output = try emoe.forward(inputs, tokens: tokens)
    } catch {
      return .failed(.equivalence, name, layer: layer, detail: "\(error)")
    }
    if let nonFinite = FiniteCheck.outputs(
      [("the dense FFN's output", reference), ("the EMoE FFN's output at k = E", output)],
      tokens: tokens, width: d, name: name, layer: layer)
    {
      return nonFinite
    }
    let comparison = OutputComparison(output, reference: reference, tokens: tokens, width: d)
    var measures = comparison.measures
    measures.append(JSONMember("tolerance", .number(tolerance)))
    let activationNote =
      record.activation == source.ffn.activation.rawValue
      ? ""
      : "; the record's activation is '\(record.activation)', the source's "
        + "'\(source.ffn.activation.rawValue)'"
    let figures =
      "max |Δ| \(NumberText.short(comparison.maxAbsolute)), max rel "
      + "\(NumberText.short(comparison.maxRelative)), cosine "
      + NumberText.fixed(comparison.minimumCosine, decimals: 7)
    let lossy = lossyBounds()
    guard !lossy.isEmpty else {
      let ok = comparison.maxRelative <= tolerance
      let detail =
        figures + (ok ? " ≤ " : " > ") + "tolerance \(NumberText.short(tolerance))"
        + activationNote
      return ok
        ? .passed(.equivalence, name, layer: layer, detail: detail, measures: measures)
        : .failed(.equivalence, name, layer: layer, detail: detail, measures: measures)
    }
    let bound: [Float]
    do {
      bound = try outputBound(lossy)
    } catch {
      return .failed(.equivalence, name, layer: layer, detail: "\(error)")
    }
    let slack = tolerance * comparison.referenceScale
    var use = 0.0
    var largestBound = 0.0
    for index in 0..<(tokens * d) {
      let allowed = Double(bound[index]) * (1 + 1e-4) + slack
      largestBound = max(largestBound, allowed)
      let error = abs(Double(output[index]) - Double(reference[index]))
      let ratio = allowed > 0 ? error / allowed : (error == 0 ? 0 : .infinity)
      use = max(use, ratio.isNaN ? .infinity : ratio)
    }
    measures.append(JSONMember("bound", .number(largestBound)))
    measures.append(JSONMember("bound_use", .number(use)))
    measures.append(
      JSONMember("quantised", .array(lossy.keys.sorted().map { .string($0.rawValue) })))
    let detail =
      figures + "; quantised (" + lossy.keys.sorted().map(\.rawValue).joined(separator: ", ")
      + "): error uses \(NumberText.fixed(use, decimals: 3)) of its bound "
      + "(max \(NumberText.short(largestBound)))" + activationNote
    return use <= 1
      ? .passed(.equivalence, name, layer: layer, detail: detail, measures: measures)
      : .failed(.equivalence, name, layer: layer, detail: detail, measures: measures)
  }

  /// The per-weight bounds of every lossy stored tensor, by role, in source neuron order.
  private func lossyBounds() -> [ContainerLayerRecord.Role: QuantizationBound] {
    var result: [ContainerLayerRecord.Role: QuantizationBound] = [:]
    for (role, name) in record.tensors where role.ffnRole != nil {
      guard let entry = container.entry(named: name) else { continue }
      let values = entry.declaration.source?.values
      let lossy: Bool
      if let values {
        lossy = values == .lossy
      } else if case .int8Rows = entry.declaration.encoding {
        lossy = true
      } else {
        lossy = entry.dtype == .q8_0
      }
      if lossy { result[role] = QuantizationBound(lossy: entry) }
    }
    return result
  }

  /// The bound on `|y_emoe − y_dense|` for every output value (see the type's summary).
  private func outputBound(_ lossy: [ContainerLayerRecord.Role: QuantizationBound]) throws
    -> [Float]
  {
    let ffn = source.ffn
    let n = record.intermediateSize
    let d = record.hiddenSize
    let canonical = try CanonicalFFN(ffn)
    let pass = canonical.pass(inputs, tokens: tokens)
    func delta(_ role: ContainerLayerRecord.Role) throws -> [Float]? {
      guard let scheme = lossy[role], let ffnRole = role.ffnRole else { return nil }
      let values = try source.floats(ffnRole)
      let rows = ffnRole.isWeight ? n : 1
      guard let bounds = scheme.bounds(values, rows: rows, columns: values.count / rows) else {
        throw VerificationError("no error bound is known for lossy \(scheme.name)")
      }
      return bounds
    }
    let upRole: ContainerLayerRecord.Role = ffn.isGLU ? .wu : .w1
    let downRole: ContainerLayerRecord.Role = ffn.isGLU ? .wd : .w2
    let absX = inputs.map { abs($0) }
    func spread(_ bounds: [Float]?, bias: [Float]?) -> [Float] {
      var result = [Float](repeating: 0, count: tokens * n)
      if let bounds {
        result = Self.product(absX, bounds, rows: tokens, inner: d, columns: n, transposeB: true)
      }
      if let bias {
        for token in 0..<tokens { for i in 0..<n { result[token * n + i] += bias[i] } }
      }
      return result
    }
    let slope: Float = canonical.activation == .relu ? 1 : 1.13
    let upError = spread(try delta(upRole), bias: try delta(ffn.isGLU ? .bu : .b1))
    var hiddenError = [Float](repeating: 0, count: tokens * n)
    if ffn.isGLU, let gate = pass.gate {
      let gateError = spread(try delta(.wg), bias: try delta(.bg))
      for index in hiddenError.indices {
        let activated = abs(canonical.activation(gate[index]))
        hiddenError[index] =
          slope * gateError[index] * (abs(pass.up[index]) + upError[index])
          + activated * upError[index]
      }
    } else {
      for index in hiddenError.indices { hiddenError[index] = slope * upError[index] }
    }
    let downDelta = try delta(downRole) ?? [Float](repeating: 0, count: n * d)
    let downMagnitude = zip(canonical.down, downDelta).map { abs($0) + $1 }
    var bound = Self.product(hiddenError, downMagnitude, rows: tokens, inner: n, columns: d)
    let weightError = Self.product(
      pass.hidden.map { abs($0) }, downDelta, rows: tokens, inner: n, columns: d)
    let biasError = try delta(ffn.isGLU ? .bd : .b2)
    for token in 0..<tokens {
      for column in 0..<d {
        bound[token * d + column] += weightError[token * d + column] + (biasError?[column] ?? 0)
      }
    }
    return bound
  }

  /// `A · B` (or `A · Bᵀ`) for row-major `A [rows, inner]` and `B [inner, columns]`
  /// (`[columns, inner]` when transposed).
  static func product(
    _ a: [Float], _ b: [Float], rows: Int, inner: Int, columns: Int, transposeB: Bool = false
  ) -> [Float] {
    var c = [Float](repeating: 0, count: rows * columns)
    guard rows > 0, columns > 0 else { return c }
    a.withUnsafeBufferPointer { pa in
      b.withUnsafeBufferPointer { pb in
        c.withUnsafeMutableBufferPointer { pc in
          BLAS.sgemm(
            .none, transposeB ? .transposed : .none, m: rows, n: columns, k: inner,
            a: pa.baseAddress!, lda: inner, b: pb.baseAddress!, ldb: transposeB ? inner : columns,
            c: pc.baseAddress!, ldc: columns)
        }
      }
    }
    return c
  }
}
