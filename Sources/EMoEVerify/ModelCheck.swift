import EMoECore
import EMoEFormats
import EMoENumerics
import EMoERunner

/// The whole-model comparison of `verify --model`: the dense source model against the model the
/// container holds (passthrough tensors plus an ``ExpertFFN`` per converted layer), on one fixed
/// token sequence (``WholeModel/probeTokens(count:vocabularySize:)``).
///
/// For each requested k it reports the cosine of the final hidden states (smallest and mean
/// per token) and, for decoders, how often the next-token argmax agrees and the mean
/// KL(p_dense ‖ p_emoe) of the next-token distributions. These are figures, not verdicts.
/// The run at k = E (each layer's own E) is judged: it must match the dense model with
/// `max|Δh| / max|h_dense| ≤ 10 × tolerance` (sums of many layers in another order), every
/// argmax agreeing and mean KL ≤ 10 × tolerance. A container with lossy (quantised) matrices
/// cannot match to float tolerance; its k = E figures are reported, and the per-layer bounds of
/// the equivalence check are what hold it.
struct ModelCheck {
  let container: ContainerFile
  let source: any ModelSource
  let ks: [Int]
  let tokens: Int
  let tolerance: Double
  /// Whether to run, besides `ks`, every layer at its own recorded top-k (when they differ).
  var recordedTopK = false

  /// The k that stands for every layer's own recorded top-k.
  static let recorded = -1

  /// Runs the comparison; one check per k (and the recorded per-layer top-k), then the judged
  /// k = E run.
  func run() throws(VerificationError) -> [VerificationCheck] {
    let dense = try WholeModel(source: source)
    let emoe = try WholeModel(source: ContainerDenseView(container))
    let count = min(tokens, dense.maximumTokens ?? tokens)
    let ids = WholeModel.probeTokens(count: count, vocabularySize: dense.vocabularySize)
    var weights: [Int: ExpertFFNWeights] = [:]
    for record in container.layers {
      do {
        weights[record.layer] = try ExpertFFNWeights(container: container, layer: record)
      } catch {
        throw VerificationError(reading: container.path, error)
      }
      for k in ks where k > record.expertCount {
        throw VerificationError(
          "--top-k \(k) exceeds layer \(record.layer)'s \(record.expertCount) experts")
      }
    }
    let reference: WholeModel.Output
    do {
      reference = try dense.run(tokens: ids)
    } catch {
      throw VerificationError(reading: source.path, error)
    }
    let lossy = container.layers.contains { record in
      record.tensors.contains { role, name in
        role.ffnRole != nil && container.entry(named: name)?.declaration.source?.values == .lossy
      }
    }
    var checks: [VerificationCheck] = []
    let topK = Dictionary(uniqueKeysWithValues: container.layers.map { ($0.layer, $0.topK) })
    for k in ks + (recordedTopK ? [Self.recorded] : []) + [0] {
      var replacing: [Int: any FeedForwardBlock] = [:]
      do {
        for (layer, layerWeights) in weights {
          let layerK =
            switch k {
            case 0: layerWeights.expertCount
            case Self.recorded: topK[layer] ?? layerWeights.expertCount
            default: k
            }
          replacing[layer] = try ExpertFFN(weights: layerWeights, topK: layerK)
        }
      } catch {
        throw VerificationError("\(error)")
      }
      let output: WholeModel.Output
      do {
        output = try emoe.run(tokens: ids, replacing: replacing)
      } catch {
        throw VerificationError(reading: container.path, error)
      }
      checks.append(
        judge(output, reference, k: k, tokens: count, hiddenSize: dense.hiddenSize, lossy: lossy))
    }
    return checks
  }

  /// Measures one run against the dense one; judges only k = E (`k == 0`).
  private func judge(
    _ output: WholeModel.Output, _ reference: WholeModel.Output, k: Int, tokens: Int,
    hiddenSize: Int, lossy: Bool
  ) -> VerificationCheck {
    let name =
      k == 0 ? "model k=E" : k == Self.recorded ? "model k=recorded per layer" : "model k=\(k)"
    // NaN compares as neither larger nor smaller, so figures of NaN outputs would read as a
    // perfect match (argmax agreement 100 %, KL 0): judge finiteness first.
    let outputs: [(String, [Float]?, Int)] = [
      ("the dense source model's hidden states", reference.hiddenStates, hiddenSize),
      ("the dense source model's logits", reference.logits, 0),
      ("the EMoE model's hidden states", output.hiddenStates, hiddenSize),
      ("the EMoE model's logits", output.logits, 0),
    ]
    for (what, values, width) in outputs {
      guard let values else { continue }
      let columns = width > 0 ? width : values.count / max(tokens, 1)
      if let bad = NonFiniteValue.first(
        in: values, tensor: what.hasSuffix("logits") ? "logits" : "hidden_states",
        shape: [tokens, columns])
      {
        return .failed(
          .finite, name,
          detail: "\(what) hold \(bad.valueText) at token \(bad.index[0]), column "
            + "\(bad.index[1]); no figure of a non-finite output means anything",
          measures: FiniteCheck.measures(bad))
      }
    }
    let hidden = OutputComparison(
      output.hiddenStates, reference: reference.hiddenStates, tokens: tokens, width: hiddenSize)
    var measures: [JSONMember] = [
      JSONMember(
        "k",
        k == 0
          ? .string("E")
          : k == Self.recorded
            ? .object(
              container.layers.map { JSONMember(String($0.layer), .integer(Int64($0.topK))) })
            : .integer(Int64(k))),
      JSONMember("tokens", .integer(Int64(tokens))),
      JSONMember("min_cosine", .number(hidden.minimumCosine)),
      JSONMember("mean_cosine", .number(hidden.meanCosine)),
      JSONMember("hidden_max_rel_error", .number(hidden.maxRelative)),
    ]
    var detail =
      "cosine min \(NumberText.fixed(hidden.minimumCosine, decimals: 6)) mean "
      + "\(NumberText.fixed(hidden.meanCosine, decimals: 6)), hidden max rel "
      + NumberText.short(hidden.maxRelative)
    var agreement = 1.0
    var meanKL = 0.0
    if let logits = output.logits, let referenceLogits = reference.logits {
      let vocabulary = logits.count / max(tokens, 1)
      (agreement, meanKL) = Self.nextToken(
        logits, referenceLogits, tokens: tokens, vocabulary: vocabulary)
      measures.append(JSONMember("argmax_agreement", .number(agreement)))
      measures.append(JSONMember("mean_kl", .number(meanKL)))
      detail +=
        ", argmax agreement \(NumberText.fixed(agreement * 100, decimals: 1))%, mean KL "
        + NumberText.short(meanKL)
    }
    guard k == 0 else { return .passed(.model, name, detail: detail, measures: measures) }
    let limit = 10 * tolerance
    measures.append(JSONMember("tolerance", .number(limit)))
    if lossy {
      return .passed(
        .model, name,
        detail: detail + " (quantised matrices: reported, not judged)", measures: measures)
    }
    let ok = hidden.maxRelative <= limit && agreement == 1 && meanKL <= limit
    detail += ok ? " ≤ \(NumberText.short(limit))" : "; must be ≤ \(NumberText.short(limit))"
    return ok
      ? .passed(.model, name, detail: detail, measures: measures)
      : .failed(.model, name, detail: detail, measures: measures)
  }

  /// The share of positions whose argmax agrees, and the mean KL(reference ‖ output).
  static func nextToken(_ logits: [Float], _ reference: [Float], tokens: Int, vocabulary: Int)
    -> (agreement: Double, meanKL: Double)
  {
    guard tokens > 0, vocabulary > 0 else { return (1, 0) }
    var agreeing = 0
    var klSum = 0.0
    for token in 0..<tokens {
      let row = (token * vocabulary)..<((token + 1) * vocabulary)
      let p = logSoftmax(reference[row])
      let q = logSoftmax(logits[row])
      if argmax(reference[row]) == argmax(logits[row]) { agreeing += 1 }
      var kl = 0.0
      for index in 0..<vocabulary where p[index].isFinite {
        kl += exp(p[index]) * (p[index] - q[index])
      }
      klSum += max(0, kl)
    }
    return (Double(agreeing) / Double(tokens), klSum / Double(tokens))
  }

  private static func logSoftmax(_ values: ArraySlice<Float>) -> [Double] {
    let largest = Double(values.max() ?? 0)
    let total = values.reduce(0.0) { $0 + exp(Double($1) - largest) }
    let offset = largest + log(total)
    return values.map { Double($0) - offset }
  }

  private static func argmax(_ values: ArraySlice<Float>) -> Int {
    var best = values.startIndex
    for index in values.indices where values[index] > values[best] { best = index }
    return best - values.startIndex
  }
}
