import EMoECore

/// What `evaluate` measured: the dense baseline and the EMoE model at each top-k.
public struct QualityReport: Sendable {
  /// How quality is measured.
  public enum Measure: String, Sendable {
    /// Decoders: perplexity of next-token prediction (lower is better).
    case perplexity
    /// Encoders: mean cosine of mean-pooled sentence embeddings to the dense model's (1 is equal).
    case cosine
  }

  /// One top-k setting and what it gave.
  public struct Point: Sendable {
    /// The top-k of each converted layer.
    public var topKPerLayer: [(layer: Int, topK: Int)]
    /// The value of the measure.
    public var value: Double
    /// The share of FFN multiply-adds still performed.
    public var active: ActiveCompute
    /// The value with neurons assigned to experts at random, when measured.
    public var randomValue: Double?
    /// Tokens routed to each expert, per converted layer (every window or sentence counted).
    public var expertLoad: [Int: [Int]] = [:]
    /// The router that chose the experts.
    public var router: EvaluationRouter = .averageKey
    /// The masked-LM loss, for encoders with a masked-LM head.
    public var maskedLMLoss: Double?

    /// The common top-k, when every layer has the same.
    public var topK: Int? {
      let values = Set(topKPerLayer.map(\.topK))
      return values.count == 1 ? values.first : nil
    }
  }

  /// What the container says about one converted layer.
  public struct Layer: Sendable {
    /// The layer index.
    public var layer: Int
    /// E.
    public var experts: Int
    /// The stored top-k.
    public var topK: Int
    /// The clustering's method and key matrix (`balanced-kmeans on gate`).
    public var clustering: String
    /// The clustering's sum of squared distances.
    public var sse: Double
  }

  /// The container.
  public var model: String
  /// Its converted layers.
  public var layers: [Layer] = []
  /// How it was made: tool, source files and their SHA-256, options.
  public var provenance: [(key: String, value: String)] = []
  /// The text file, or the token file.
  public var input: String
  /// What tokenised the text (`GGUF tokenizer.ggml gpt2/smollm`), or `token ids`.
  public var tokenizer: String
  /// Tokens evaluated.
  public var tokenCount: Int
  /// Windows run per model (decoders) or sentences (encoders).
  public var segments: Int
  /// The measure.
  public var measure: Measure
  /// What the dense baseline is: `source` (the dense checkpoint) or `container`.
  public var denseFrom: String
  /// The dense model's value.
  public var dense: Double
  /// The EMoE model at each setting, most experts first.
  public var points: [Point]
  /// The seed of the random partition, when `--baseline random` was given.
  public var randomSeed: UInt64?
  /// With `--per-layer`: each converted layer alone at each top-k below its E, the other layers
  /// dense.
  public var layerPoints: [Point]?
  /// The dense model's masked-LM loss, for encoders with a masked-LM head.
  public var denseMaskedLMLoss: Double?
  /// The seed that picked the masked positions, and how many were masked.
  public var masking: (seed: UInt64, positions: Int)?

  /// The relative change of `value` against the dense model: perplexity increase, or cosine
  /// loss.
  public func change(_ value: Double) -> Double {
    switch measure {
    case .perplexity: value / dense - 1
    case .cosine: dense - value
    }
  }

  /// The report as one JSON document (docs/evaluate.md).
  public func json() -> JSONValue {
    let measureName = measure.rawValue
    return .object(
      [
        JSONMember("model", .string(model)),
        JSONMember("input", .string(input)),
        JSONMember("tokenizer", .string(tokenizer)),
        JSONMember("tokens", .integer(Int64(tokenCount))),
        JSONMember(measure == .perplexity ? "windows" : "sentences", .integer(Int64(segments))),
        JSONMember("measure", .string(measureName)),
        JSONMember(
          "random_seed",
          randomSeed.map { seed in
            Int64(exactly: seed).map { .integer($0) } ?? .unsignedInteger(seed)
          } ?? .null),
      ]
        + (masking.map { masking in
          [
            JSONMember(
              "mask_seed",
              Int64(exactly: masking.seed).map { .integer($0) } ?? .unsignedInteger(masking.seed)),
            JSONMember("masked_tokens", .integer(Int64(masking.positions))),
          ]
        } ?? [])
        + [
          JSONMember(
            "dense",
            .object(
              [JSONMember(measureName, .number(dense)), JSONMember("from", .string(denseFrom))]
                + (denseMaskedLMLoss.map { [JSONMember("masked_lm_loss", .number($0))] } ?? []))),
          JSONMember(
            "results",
            .array(
              markingOracles(
                points.map { point in
                  .object(
                    [
                      JSONMember("top_k", point.topK.map { .integer(Int64($0)) } ?? .null),
                      JSONMember(
                        "top_k_per_layer",
                        .object(
                          point.topKPerLayer.map {
                            JSONMember(String($0.layer), .integer(Int64($0.topK)))
                          })
                      ),
                      JSONMember("router", .string(point.router.rawValue)),
                      JSONMember(measureName, .number(point.value)),
                      JSONMember(
                        measure == .perplexity ? "increase" : "loss", .number(change(point.value))),
                      JSONMember("random", randomJSON(point)),
                    ]
                      + maskedLMJSON(point)
                      + [
                        JSONMember(
                          "expert_load",
                          .object(
                            point.expertLoad.sorted { $0.key < $1.key }.map { layer, counts in
                              JSONMember(String(layer), .array(counts.map { .integer(Int64($0)) }))
                            })),
                        JSONMember(
                          "active_fraction",
                          .object([
                            JSONMember("converted_layers", .number(point.active.convertedLayers)),
                            JSONMember("model_ffn", .number(point.active.wholeModel)),
                          ])),
                      ])
                }))),
        ] + (layerPoints.map { [JSONMember("per_layer", .array($0.map(layerJSON)))] } ?? [])
        + [
          JSONMember(
            "layers",
            .array(
              layers.map { layer in
                .object([
                  JSONMember("layer", .integer(Int64(layer.layer))),
                  JSONMember("experts", .integer(Int64(layer.experts))),
                  JSONMember("top_k", .integer(Int64(layer.topK))),
                  JSONMember("clustering", .string(layer.clustering)),
                  JSONMember("sse", .number(layer.sse)),
                ])
              }))
        ])
  }

  /// `results` (one per point) with `"oracle": true` after the router of each oracle's result.
  private func markingOracles(_ results: [JSONValue]) -> [JSONValue] {
    zip(points, results).map { point, result in
      guard point.router.isOracle, case .object(var members) = result else { return result }
      let position = (members.firstIndex { $0.key == "router" } ?? members.count - 1) + 1
      members.insert(JSONMember("oracle", .bool(true)), at: position)
      return .object(members)
    }
  }

  /// The masked-LM loss and its relative increase over the dense model's, when measured.
  private func maskedLMJSON(_ point: Point) -> [JSONMember] {
    guard let loss = point.maskedLMLoss, let dense = denseMaskedLMLoss else { return [] }
    return [
      JSONMember(
        "masked_lm_loss",
        .object([
          JSONMember("loss", .number(loss)), JSONMember("increase", .number(loss / dense - 1)),
        ]))
    ]
  }

  /// The random partition's value and change, or `null` when it was not measured.
  private func randomJSON(_ point: Point) -> JSONValue {
    guard let random = point.randomValue else { return .null }
    return .object([
      JSONMember(measure.rawValue, .number(random)),
      JSONMember(measure == .perplexity ? "increase" : "loss", .number(change(random))),
    ])
  }

  private func layerJSON(_ point: Point) -> JSONValue {
    .object([
      JSONMember("layer", .integer(Int64(point.topKPerLayer.first?.layer ?? -1))),
      JSONMember("top_k", .integer(Int64(point.topKPerLayer.first?.topK ?? 0))),
      JSONMember(measure.rawValue, .number(point.value)),
      JSONMember(measure == .perplexity ? "increase" : "loss", .number(change(point.value))),
      JSONMember("active_fraction_model_ffn", .number(point.active.wholeModel)),
    ])
  }

  /// The routers measured, in the order they were.
  public var routers: [EvaluationRouter] {
    var seen: [EvaluationRouter] = []
    for point in points where !seen.contains(point.router) { seen.append(point.router) }
    return seen
  }

  /// A table for people: one line per setting.
  public func lines() -> [String] {
    func number(_ value: Double) -> String {
      measure == .perplexity ? Self.format(value, digits: 2) : Self.format(value, digits: 4)
    }
    var lines = [
      "\(input): \(tokenCount) tokens (\(tokenizer)), \(segments) "
        + (measure == .perplexity ? "windows" : "sentences"),
      "dense (\(denseFrom)): \(measureName) \(number(dense))",
      "top-k    \(measureName)    change   active FFN (converted / model)"
        + (randomSeed != nil ? "   random partition" : ""),
    ]
    for point in points {
      var k = point.topK.map(String.init) ?? "per layer"
      if routers.count > 1 || point.router != .averageKey {
        k += " (\(point.router.rawValue)\(point.router.isOracle ? ", oracle" : ""))"
      }
      let change = change(point.value) * 100
      lines.append(
        k.padding(8) + " " + number(point.value).padding(12) + " "
          + ((change >= 0 ? "+" : "") + Self.format(change, digits: 1) + " %").padding(9) + " "
          + Self.format(point.active.convertedLayers * 100, digits: 1) + " % / "
          + Self.format(point.active.wholeModel * 100, digits: 1) + " %"
          + (point.randomValue.map { random in
            "   " + number(random) + " (" + (self.change(random) >= 0 ? "+" : "")
              + Self.format(self.change(random) * 100, digits: 1) + " %)"
          } ?? ""))
    }
    if let denseLoss = denseMaskedLMLoss, let masking {
      lines.append(
        "masked-LM loss (\(masking.positions) masked tokens, seed \(masking.seed)): dense "
          + Self.format(denseLoss, digits: 4))
      for point in points {
        guard let loss = point.maskedLMLoss else { continue }
        let change = (loss / denseLoss - 1) * 100
        lines.append(
          "  top-k " + (point.topK.map(String.init) ?? "per layer") + ": "
            + Self.format(loss, digits: 4) + " (" + (change >= 0 ? "+" : "")
            + Self.format(change, digits: 1) + " %)")
      }
    }
    if let layerPoints, !layerPoints.isEmpty {
      lines.append("one layer sparse at a time, the others dense:")
      lines.append("layer  top-k    \(measureName)    change")
      for point in layerPoints {
        guard let only = point.topKPerLayer.first else { continue }
        let change = change(point.value) * 100
        lines.append(
          String(only.layer).padding(6) + " " + String(only.topK).padding(8) + " "
            + number(point.value).padding(12) + " "
            + (change >= 0 ? "+" : "") + Self.format(change, digits: 1) + " %")
      }
    }
    return lines
  }

  private var measureName: String { measure.rawValue }

  /// `value` with `digits` decimals.
  static func format(_ value: Double, digits: Int) -> String {
    guard value.isFinite else { return "\(value)" }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    var text = "\(rounded)"
    if let dot = text.firstIndex(of: ".") {
      let decimals = text.distance(from: dot, to: text.endIndex) - 1
      if decimals < digits { text += String(repeating: "0", count: digits - decimals) }
    } else if digits > 0 {
      text += "." + String(repeating: "0", count: digits)
    }
    return text
  }
}

extension String {
  /// The string padded with spaces to `width` characters.
  fileprivate func padding(_ width: Int) -> String {
    count >= width ? self : self + String(repeating: " ", count: width - count)
  }
}
