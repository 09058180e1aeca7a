import EMoECore
import EMoEFormats
import EMoEModel
import EMoENumerics

/// The checks of one converted layer against its source layer: the shapes agree, every stored
/// matrix row and bias value is the source row, column or value the permutation names (bit for
/// bit when exact, equal after decoding when lossless, within ``QuantizationBound`` when lossy),
/// and the router rows (and router bias) are the means of each expert's raw keys (and biases).
struct LayerSourceCheck {
  let container: ContainerFile
  let record: ContainerLayerRecord
  let source: SourceLayerValues
  /// σ: stored position p holds source neuron `permutation[p]` (already checked).
  let permutation: [Int]

  private var ffn: LayerFFN { source.ffn }
  private var layer: Int { record.layer }

  /// Every check of the layer, in role order.
  func run() -> [VerificationCheck] {
    var checks = [structure()]
    guard !checks[0].failed else { return checks }
    for role in ContainerLayerRecord.Role.allCases {
      guard let ffnRole = role.ffnRole else { continue }
      let stored = record.tensors[role]
      let inSource = ffn.member(ffnRole) != nil
      switch (stored, inSource) {
      case (nil, false):
        continue
      case (nil, true):
        checks.append(
          .failed(
            .permutation, "layer \(layer) \(role.rawValue)", layer: layer,
            detail: "the source has \(ffn.member(ffnRole)!.info.name) but the layer stores no "
              + "\(role.rawValue)"))
      case (let name?, _):
        checks.append(compare(role, ffnRole, storedName: name))
      }
    }
    checks.append(router())
    if record.tensors[.routerBias] != nil { checks.append(routerBias()) }
    return checks
  }

  // MARK: Structure

  private func structure() -> VerificationCheck {
    let name = "layer \(layer) shape"
    var problems: [String] = []
    if (record.family == .glu) != ffn.isGLU {
      problems.append(
        "the record says \(record.family.rawValue), the source FFN is "
          + (ffn.isGLU ? "glu" : "plain"))
    }
    if record.hiddenSize != ffn.hiddenSize || record.intermediateSize != ffn.intermediateSize {
      problems.append(
        "the record says d \(record.hiddenSize), n \(record.intermediateSize); the source has "
          + "d \(ffn.hiddenSize), n \(ffn.intermediateSize)")
    }
    if record.transposedSource != ffn.transposed {
      problems.append(
        "the record says transposed_source \(record.transposedSource), the source is "
          + (ffn.transposed ? "transposed (Conv1D)" : "not transposed"))
    }
    let keyRole = self.keyRole
    if keyRole == nil || ffn.member(keyRole!) == nil {
      problems.append(
        "the record clusters '\(record.clustering.keys.rawValue)' keys, which a "
          + (ffn.isGLU ? "GLU" : "plain") + " FFN does not have")
    }
    guard problems.isEmpty else {
      return .failed(.permutation, name, layer: layer, detail: problems.joined(separator: "; "))
    }
    return .passed(
      .permutation, name, layer: layer,
      detail: "\(record.family.rawValue), d \(ffn.hiddenSize), n \(ffn.intermediateSize)")
  }

  /// The source role whose rows are the clustered keys.
  private var keyRole: FFNRole? {
    let role = record.routerKeys.ffnRole
    return ffn.canCluster(role) ? role : nil
  }

  // MARK: Stored tensors

  private func compare(_ role: ContainerLayerRecord.Role, _ ffnRole: FFNRole, storedName: String)
    -> VerificationCheck
  {
    let name = "layer \(layer) \(role.rawValue)"
    func fail(_ detail: String, _ measures: [JSONMember] = []) -> VerificationCheck {
      .failed(.permutation, name, layer: layer, detail: detail, measures: measures)
    }
    guard let member = ffn.member(ffnRole) else {
      return fail("the layer stores \(storedName), but the source layer has no \(ffnRole)")
    }
    guard let entry = container.entry(named: storedName) else {
      return fail("no tensor named \(storedName) is stored")
    }
    let move = TensorMove(ffnRole, transposed: ffn.transposed, dtype: member.info.dtype)
    let columns = move.readsColumns
    if let recorded = entry.declaration.source {
      var mismatches: [String] = []
      if recorded.name != member.info.name {
        mismatches.append(
          "records source '\(recorded.name)', the source layer's is "
            + "'\(member.info.name)'")
      }
      if recorded.dtype != member.info.dtype || recorded.shape != member.info.shape {
        mismatches.append(
          "records a \(recorded.dtype.rawValue) \(recorded.shape) source, the source holds "
            + "\(member.info.dtype.rawValue) \(member.info.shape)")
      }
      if recorded.transposed != columns {
        mismatches.append(
          "records transposed \(recorded.transposed), expected \(columns) for this layout")
      }
      if !mismatches.isEmpty { return fail(mismatches.joined(separator: "; ")) }
    }
    let values = entry.declaration.source?.values ?? inferredValues(entry, member.info.dtype)
    let stored: Tensor
    let sourceTensor: Tensor
    do {
      stored = try container.tensor(for: entry)
      sourceTensor = try ffn.tensor(ffnRole)
    } catch {
      return fail("\(error)")
    }
    let outcome: Comparison
    do {
      switch values {
      case .exact:
        outcome = try exact(stored, entry, sourceTensor, role: ffnRole, columns: columns)
      case .lossless, .lossy:
        outcome = try decoded(
          stored, entry, role: ffnRole,
          bound: values == .lossless ? .none : QuantizationBound(lossy: entry))
      }
    } catch {
      return fail("\(error)")
    }
    let how = move.word
    var measures = [
      JSONMember("tensor", .string(storedName)),
      JSONMember("source", .string(member.info.name)),
      JSONMember("values", .string(values.rawValue)),
      JSONMember("compared", .integer(Int64(outcome.compared))),
      JSONMember("mismatches", .integer(Int64(outcome.mismatches))),
    ]
    if let bound = outcome.boundUse {
      measures.append(JSONMember("max_abs_error", .number(outcome.maxError)))
      measures.append(JSONMember("bound_use", .number(bound)))
    }
    if let problem = outcome.firstProblem {
      return fail(
        problem + (outcome.mismatches > 1 ? " (\(outcome.mismatches) in all)" : ""), measures)
    }
    let detail: String
    switch values {
    case .exact:
      detail = "\(entry.dtype.rawValue) \(how) bit for bit from \(member.info.name)"
    case .lossless:
      detail = "\(entry.dtype.rawValue) \(how) equal to decoded \(member.info.dtype.rawValue)"
    case .lossy:
      let scheme = QuantizationBound(lossy: entry)
      detail =
        "\(scheme.name) from source \(how): max |Δ| \(Self.format(outcome.maxError)), "
        + "\(NumberText.fixed(outcome.boundUse ?? 0, decimals: 3)) of its bound"
    }
    return .passed(.permutation, name, layer: layer, detail: detail, measures: measures)
  }

  /// The value change of a tensor recorded without a `source` member, from its types.
  private func inferredValues(_ entry: ContainerTensorEntry, _ sourceType: DType)
    -> ContainerTensorSource.ValueChange
  {
    if case .int8Rows = entry.declaration.encoding { return .lossy }
    if entry.dtype == sourceType { return .exact }
    return entry.dtype == .f32 ? .lossless : .lossy
  }

  /// What a comparison found.
  private struct Comparison {
    var compared = 0
    var mismatches = 0
    var firstProblem: String?
    var maxError = 0.0
    var boundUse: Double?
  }

  /// Compares raw bytes: stored row p against source row (or column) σ[p].
  private func exact(
    _ stored: Tensor, _ entry: ContainerTensorEntry, _ sourceTensor: Tensor, role: FFNRole,
    columns: Bool
  ) throws(VerificationError) -> Comparison {
    guard entry.dtype == sourceTensor.dtype, case .plain = entry.declaration.encoding else {
      throw VerificationError(
        "recorded as exact, but stored as \(entry.dtype.rawValue) from "
          + "\(sourceTensor.dtype.rawValue)")
    }
    guard stored.byteCount == sourceTensor.byteCount else {
      throw VerificationError(
        "holds \(stored.byteCount) bytes, the source \(sourceTensor.byteCount)")
    }
    var result = Comparison()
    let n = record.intermediateSize
    if !role.isInputSide && !role.isWeight {
      // An output bias is copied whole.
      let same = stored.withUnsafeBytes { a in
        sourceTensor.withUnsafeBytes { b in
          a.count == b.count
            && (a.count == 0 || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0)
        }
      }
      result.compared = 1
      if !same {
        result.mismatches = 1
        result.firstProblem = "differs from the source bytes"
      }
      return result
    }
    if columns {
      guard entry.dtype.blockSize == 1, entry.dtype.bitsPerBlock % 8 == 0 else {
        throw VerificationError(
          "recorded as exact columns of \(entry.dtype.rawValue), whose blocks cannot be split")
      }
      let width = entry.dtype.blockBytes
      let d = record.hiddenSize
      stored.withUnsafeBytes { a in
        sourceTensor.withUnsafeBytes { b in
          for position in 0..<n {
            let neuron = permutation[position]
            for column in 0..<d {
              let storedOffset = (position * d + column) * width
              let sourceOffset = (column * n + neuron) * width
              if memcmp(a.baseAddress! + storedOffset, b.baseAddress! + sourceOffset, width) != 0 {
                result.mismatches += 1
                if result.firstProblem == nil {
                  result.firstProblem =
                    "stored row \(position) (neuron \(neuron)), value \(column) differs from "
                    + "source column \(neuron)"
                }
                break
              }
            }
          }
        }
      }
      result.compared = n
      return result
    }
    let rowBytes = stored.byteCount / max(n, 1)
    stored.withUnsafeBytes { a in
      sourceTensor.withUnsafeBytes { b in
        for position in 0..<n {
          let neuron = permutation[position]
          if memcmp(
            a.baseAddress! + position * rowBytes, b.baseAddress! + neuron * rowBytes, rowBytes)
            != 0
          {
            result.mismatches += 1
            if result.firstProblem == nil {
              result.firstProblem =
                "stored \(role.isWeight ? "row" : "value") \(position) differs from source "
                + "\(role.isWeight ? "row" : "value") \(neuron), which the permutation names"
            }
          }
        }
      }
    }
    result.compared = n
    return result
  }

  /// Compares decoded values with the decoded source, exactly or within `bound`.
  private func decoded(
    _ stored: Tensor, _ entry: ContainerTensorEntry, role: FFNRole, bound: QuantizationBound
  ) throws -> Comparison {
    let n = record.intermediateSize
    let reference = try source.floats(role)
    let width = role.isWeight ? record.hiddenSize : 1
    let rows = role.isWeight || role.isInputSide ? n : reference.count
    let values: [Float]
    if role.isWeight {
      var scales: Tensor?
      if case .int8Rows(let scaleName) = entry.declaration.encoding {
        scales = try container.storedTensor(named: scaleName)
      }
      let encoded = try EncodedRows(tensor: stored, scales: scales)
      var buffer = [Float](repeating: 0, count: n * width)
      buffer.withUnsafeMutableBufferPointer { encoded.decode(rows: 0..<n, into: $0.baseAddress!) }
      values = buffer
    } else {
      values = try Dequantizer.floats(of: stored)
    }
    guard values.count == rows * width, reference.count == rows * width else {
      throw VerificationError("holds \(values.count) values, the source \(reference.count)")
    }
    guard
      let bounds = bound.bounds(
        reference, rows: role.isWeight ? n : 1, columns: role.isWeight ? width : reference.count)
    else {
      throw VerificationError(
        "its values are lossy \(bound.name), for which no error bound is known")
    }
    let permuted = role.isWeight || role.isInputSide
    var result = Comparison()
    var boundUse = 0.0
    for position in 0..<rows {
      let neuron = permuted ? permutation[position] : position
      var rowBad: String?
      for column in 0..<width {
        let storedValue = values[position * width + column]
        let sourceValue = reference[neuron * width + column]
        let limit = bounds[neuron * width + column]
        if bound == .none {
          if storedValue.bitPattern != sourceValue.bitPattern && storedValue != sourceValue {
            rowBad = rowBad ?? "value \(column): stored \(storedValue), source \(sourceValue)"
          }
          continue
        }
        let error = abs(Double(storedValue) - Double(sourceValue))
        result.maxError = max(result.maxError, error.isNaN ? .infinity : error)
        let use = limit > 0 ? error / Double(limit) : (error == 0 ? 0 : .infinity)
        boundUse = max(boundUse, use.isNaN ? .infinity : use)
        if !(error <= Double(limit)) {
          rowBad =
            rowBad
            ?? "value \(column): |Δ| = \(Self.format(error)) exceeds the \(bound.name) bound "
            + "\(Self.format(Double(limit)))"
        }
      }
      if let rowBad {
        result.mismatches += 1
        if result.firstProblem == nil {
          let what = role.isWeight ? "row" : "element"
          result.firstProblem =
            permuted
            ? "stored \(what) \(position) (source neuron \(neuron)) \(rowBad)" : rowBad
        }
      }
    }
    result.compared = rows
    if bound != .none { result.boundUse = boundUse }
    return result
  }

  // MARK: Router

  /// The source matrix whose rows the router averages: the clustered keys (average-key), Wu
  /// (up), none (up-abs, which stores no router).
  private var routerRowsRole: FFNRole? {
    switch record.router {
    case .averageKey: keyRole
    case .up: ffn.member(.up) != nil ? .up : nil
    case .upAbs: nil
    }
  }

  /// Checks every router value against the exact mean of its expert's raw keys (average-key)
  /// or Wu rows (up); an up-abs layer stores no router, its scores come from the wu rows
  /// compared above.
  ///
  /// Tolerance, per value: `(m + 2) · 2⁻²⁴ · mean|k|` over the expert's m keys, the error bound of
  /// summing m floats in any order and dividing, plus the smallest subnormal.
  private func router() -> VerificationCheck {
    let name = "layer \(layer) router"
    if record.router == .upAbs {
      return record.tensors[.router] == nil && record.tensors[.wu] != nil
        ? .passed(
          .permutation, name, layer: layer,
          detail: "up_abs: scores are computed from the stored wu rows (no router tensor)")
        : .failed(
          .permutation, name, layer: layer,
          detail: "an up_abs layer must store wu and no router tensor")
    }
    guard let keyRole = routerRowsRole else {
      return .failed(
        .permutation, name, layer: layer,
        detail: "no \(record.router == .up ? "up" : "key") matrix to average")
    }
    do {
      let keys = try source.floats(keyRole)
      guard let stored = try container.tensor(.router, of: record) else {
        return .failed(.permutation, name, layer: layer, detail: "the layer stores no router")
      }
      let means = try Dequantizer.floats(of: stored)
      return checkMeans(
        name: name, stored: means, width: record.hiddenSize,
        what: record.router == .up ? "up rows" : "keys (\(keyRole) rows)"
      ) { neuron, column in keys[neuron * record.hiddenSize + column] }
    } catch {
      return .failed(.permutation, name, layer: layer, detail: "\(error)")
    }
  }

  /// Checks the router bias against the mean of the key matrix's bias over each expert.
  private func routerBias() -> VerificationCheck {
    let name = "layer \(layer) router_bias"
    // The structure check has already refused a layer without a key matrix.
    let biasRole = routerRowsRole?.bias ?? .b1
    guard ffn.member(biasRole) != nil else {
      return .failed(
        .permutation, name, layer: layer,
        detail: "the layer stores a router bias, but the source has no \(biasRole) to average")
    }
    do {
      let bias = try source.floats(biasRole)
      guard let stored = try container.tensor(.routerBias, of: record) else {
        return .failed(.permutation, name, layer: layer, detail: "missing")
      }
      let values = try Dequantizer.floats(of: stored)
      return checkMeans(name: name, stored: values, width: 1, what: "\(biasRole) values") {
        neuron, _ in bias[neuron]
      }
    } catch {
      return .failed(.permutation, name, layer: layer, detail: "\(error)")
    }
  }

  /// Checks `stored[e, j]` against the mean of `value(σ[p], j)` over expert e's positions p.
  private func checkMeans(
    name: String, stored: [Float], width: Int, what: String, value: (Int, Int) -> Float
  ) -> VerificationCheck {
    let experts = record.expertCount
    guard record.expertSizes.count == experts, (0..<permutation.count).contains(record.sharedCount),
      record.expertSizes.reduce(0, +) == permutation.count - record.sharedCount,
      record.expertSizes.allSatisfy({ $0 >= 0 })
    else {
      return .failed(
        .permutation, name, layer: layer,
        detail: "cannot be checked: the expert sizes do not split the \(permutation.count) neurons")
    }
    guard stored.count == experts * width else {
      return .failed(
        .permutation, name, layer: layer,
        detail: "holds \(stored.count) values, expected \(experts) × \(width)")
    }
    var worstUse = 0.0
    var maxError = 0.0
    var failures = 0
    var first: String?
    // The routed experts start after the shared block, which the router does not cover.
    var start = record.sharedCount
    for expert in 0..<experts {
      let size = record.expertSizes[expert]
      let positions = start..<(start + size)
      start += size
      for column in 0..<width {
        var sum = 0.0
        var magnitude = 0.0
        for position in positions {
          let key = Double(value(permutation[position], column))
          sum += key
          magnitude += abs(key)
        }
        let count = Double(max(size, 1))
        let mean = sum / count
        let tolerance =
          Double(size + 2) * 0x1p-24 * (magnitude / count)
          + Double(Float.leastNonzeroMagnitude)
        let error = abs(Double(stored[expert * width + column]) - mean)
        maxError = max(maxError, error.isNaN ? .infinity : error)
        let use = error / tolerance
        worstUse = max(worstUse, use.isNaN ? .infinity : use)
        if !(error <= tolerance) {
          failures += 1
          if first == nil {
            first =
              "expert \(expert)" + (width > 1 ? ", value \(column)" : "")
              + ": stored \(stored[expert * width + column]), the mean of its \(size) \(what) is "
              + "\(Float(mean)) (|Δ| \(Self.format(error)) > tolerance \(Self.format(tolerance)))"
          }
        }
      }
    }
    let measures = [
      JSONMember("max_abs_error", .number(maxError)),
      JSONMember("tolerance_use", .number(worstUse)),
      JSONMember("mismatches", .integer(Int64(failures))),
    ]
    if let first {
      return .failed(
        .permutation, name, layer: layer,
        detail: first + (failures > 1 ? " (\(failures) values in all)" : ""), measures: measures)
    }
    return .passed(
      .permutation, name, layer: layer,
      detail: "\(experts) rows = mean of their \(what); max |Δ| \(Self.format(maxError)) "
        + "(\(NumberText.fixed(worstUse, decimals: 2)) of the rounding tolerance)",
      measures: measures)
  }

  /// A number in short scientific form.
  static func format(_ value: Double) -> String { NumberText.short(value) }
}
