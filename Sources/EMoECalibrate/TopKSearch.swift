import EMoEConvert
import EMoECore
import EMoERunner

/// Chooses which layers to make sparse and each one's top-k so that the most FFN compute is
/// saved while the measure on the calibration text keeps a bound.
///
/// Each layer is first measured alone at 3E/4, E/2, E/4 and E/8 (the others dense). A greedy
/// pass then lowers, one step at a time, the layer whose next step saves the most neurons per
/// unit of measured loss, while the losses measured alone add up to no more than the bound
/// allows. Losses of several sparse layers add up to more than the sum, so the whole choice is
/// then measured, and the greedy steps are taken back (the longest prefix of them that keeps the
/// bound, found by bisection) until the measured value keeps it.
struct TopKSearch {
  let measure: CalibrationMeasure
  /// The dense model's measure.
  let dense: Double
  /// Each layer's EMoE weights.
  let weights: [Int: ExpertFFNWeights]
  /// Each layer's grouping.
  let groupings: [Int: NeuronGrouping]
  /// The conversion's top-k, used where nothing is chosen.
  let defaultTopK: Int
  /// Every layer measured alone: `layer → [(top-k, value)]`.
  private(set) var alone: [Int: [(topK: Int, value: Double)]] = [:]
  private var cache: [[Int: Int]: Double] = [:]

  init(
    measure: CalibrationMeasure, dense: Double, weights: [Int: ExpertFFNWeights],
    groupings: [Int: NeuronGrouping], defaultTopK: Int
  ) {
    self.measure = measure
    self.dense = dense
    self.weights = weights
    self.groupings = groupings
    self.defaultTopK = defaultTopK
  }

  /// The measure with each layer of `setting` at its top-k (the others dense).
  mutating func measured(_ setting: [Int: Int]) throws(CalibrationError) -> Double {
    if let known = cache[setting] { return known }
    var replacing: [Int: any FeedForwardBlock] = [:]
    for (layer, k) in setting {
      do {
        replacing[layer] = try ExpertFFN(weights: weights[layer]!, topK: k)
      } catch {
        throw CalibrationError("layer \(layer) at top-k \(k): \(error)")
      }
    }
    let value = try measure.value(replacing)
    cache[setting] = value
    return value
  }

  /// The share of a layer's neurons active per token at top-k `k`: the shared block and k of
  /// the E routed experts (of mean size).
  func activeShare(layer: Int, k: Int) -> Double {
    let grouping = groupings[layer]!
    let n = Double(grouping.assignment.count)
    let shared = Double(grouping.sharedCount)
    return (shared + Double(k) * (n - shared) / Double(grouping.experts)) / n
  }

  /// The share of the chosen layers' neurons active per token (1 when none is chosen).
  func activeFraction(_ setting: [Int: Int]) -> Double {
    guard !setting.isEmpty else { return 1 }
    return setting.map { activeShare(layer: $0.key, k: $0.value) }.reduce(0, +)
      / Double(setting.count)
  }

  /// The top-k values tried for a layer of E experts, largest first.
  static func ladder(experts: Int) -> [Int] {
    Set([experts * 3 / 4, experts / 2, experts / 4, experts / 8].map { max(1, $0) })
      .filter { $0 < experts }.sorted(by: >)
  }

  /// The layers to convert with their top-k, the most neurons saved within `bound`.
  mutating func choose(bound: CalibrationBound, progress: (String) -> Void)
    throws(CalibrationError) -> [Int: Int]
  {
    let allowed = bound.allowedLoss(dense: dense)
    var losses: [Int: [Int: Double]] = [:]
    for layer in groupings.keys.sorted() {
      for k in Self.ladder(experts: groupings[layer]!.experts) {
        let value = try measured([layer: k])
        progress("layer \(layer) alone at top-k \(k): \(format(value))")
        alone[layer, default: []].append((k, value))
        let loss = bound.loss(value, dense: dense)
        losses[layer, default: [:]][k] = loss
        // Fewer experts only lose more: stop once this layer alone breaks the bound.
        if loss > allowed { break }
      }
    }
    var current: [Int: Int] = [:]
    var history: [(layer: Int, previous: Int?)] = []
    var predicted = 0.0
    while true {
      var best: (layer: Int, k: Int, ratio: Double, loss: Double)?
      for layer in groupings.keys.sorted() {
        let experts = groupings[layer]!.experts
        let now = current[layer] ?? experts
        let lossNow = current[layer].flatMap { losses[layer]?[$0] } ?? 0
        guard let next = Self.ladder(experts: experts).first(where: { $0 < now }),
          let lossNext = losses[layer]?[next], lossNext <= allowed
        else { continue }
        let marginal = max(lossNext - lossNow, 0)
        guard predicted + marginal <= allowed else { continue }
        let saved = activeShare(layer: layer, k: now) - activeShare(layer: layer, k: next)
        let ratio = saved / max(marginal, 1e-9)
        if best == nil || ratio > best!.ratio { best = (layer, next, ratio, marginal) }
      }
      guard let step = best else { break }
      history.append((step.layer, current[step.layer]))
      current[step.layer] = step.k
      predicted += step.loss
    }
    // The longest prefix of the greedy steps whose measured value keeps the bound.
    func setting(after count: Int) -> [Int: Int] {
      var result = current
      for step in history[count...].reversed() { result[step.layer] = step.previous }
      return result
    }
    var low = 0
    var high = history.count
    if high > 0, try bound.holds(measured(setting(after: high)), dense: dense) == false {
      high -= 1
      while low < high {
        let middle = (low + high + 1) / 2
        let value = try measured(setting(after: middle))
        progress("\(middle) of \(history.count) steps: \(format(value))")
        if bound.holds(value, dense: dense) { low = middle } else { high = middle - 1 }
      }
    } else {
      low = high
    }
    let chosen = setting(after: low)
    guard !chosen.isEmpty else {
      let least = losses.flatMap { layer, byK in byK.map { (layer, $0.key, $0.value) } }
        .min { $0.2 != $1.2 ? $0.2 < $1.2 : ($0.0, $0.1) < ($1.0, $1.1) }
      var detail = "no layer keeps the bound on the calibration text"
      if let least {
        detail +=
          "; the least loss is layer \(least.0) alone at top-k \(least.1) (\(format(least.2)) over dense)"
      }
      throw CalibrationError(detail)
    }
    return chosen
  }

  /// The container's `calibration` member.
  func record(
    file: String, sha256: String, tokens: Int, kind: String, bound: CalibrationBound?,
    chosen: [Int: Int], value: Double, active: Double
  ) -> JSONValue {
    let layers: [JSONValue] = groupings.keys.sorted().map { layer in
      let grouping = groupings[layer]!
      var members = [
        JSONMember("layer", .integer(Int64(layer))),
        JSONMember("experts", .integer(Int64(grouping.experts))),
        JSONMember("shared", .integer(Int64(grouping.sharedCount))),
        JSONMember("top_k", chosen[layer].map { .integer(Int64($0)) } ?? .null),
      ]
      if let tried = alone[layer] {
        members.append(
          JSONMember(
            "alone",
            .array(
              tried.map {
                .object([
                  JSONMember("top_k", .integer(Int64($0.topK))),
                  JSONMember(kind, .number($0.value)),
                ])
              })))
      }
      return .object(members)
    }
    var boundValue = JSONValue.null
    if let bound {
      let (key, number) = bound.recordKey
      boundValue = .object([JSONMember(key, .number(number))])
    }
    return .object([
      JSONMember("file", .string(file)),
      JSONMember("sha256", .string(sha256)),
      JSONMember("tokens", .integer(Int64(tokens))),
      JSONMember("measure", .string(kind)),
      JSONMember("bound", boundValue),
      JSONMember("dense", .number(dense)),
      JSONMember("value", .number(value)),
      JSONMember("active_fraction", .number(active)),
      JSONMember("layers", .array(layers)),
    ])
  }

  private func format(_ value: Double) -> String {
    let scale = measure.kind == .perplexity ? 1000.0 : 10000.0
    return "\((value * scale).rounded() / scale)"
  }
}
