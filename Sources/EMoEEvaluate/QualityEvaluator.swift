import EMoEConvert
import EMoECore
import EMoEFormats
import EMoEModel
import EMoERunner
import EMoETokenizers
import EMoEVerify

/// `emoe-pack evaluate`: the dense model and the EMoE model at several top-k values on real
/// text, by perplexity (decoders) or sentence-embedding cosine (encoders, with the masked-LM
/// loss too when the checkpoint has a masked-LM head).
public enum QualityEvaluator {
  /// Runs `request`, reporting each step through `progress`.
  ///
  /// - Throws: ``EvaluationError``: exit 2 for a text that is not UTF-8, a model family without
  ///   a whole-model runner, a `--top-k` above a layer's E or a missing tokenizer; exit 8 for
  ///   NaN or infinity in the logits; exit 1 for I/O failures.
  public static func evaluate(
    _ request: QualityRequest, progress: (String) -> Void = { _ in }
  ) throws(EvaluationError) -> QualityReport {
    let container = try open(request.model)
    guard !container.layers.isEmpty else {
      throw EvaluationError("has no converted layers", location: ErrorLocation(file: request.model))
    }
    let settings = try topKSettings(request, container)
    let routers = request.routers ?? [EvaluationRouter(container.layers[0].router)]
    for router in routers where router.needsGLU {
      if let record = container.layers.first(where: { $0.family != .glu }) {
        throw EvaluationError(
          "--router \(router.rawValue) scores experts on a GLU FFN's up projection; layer "
            + "\(record.layer) is a \(record.family.rawValue) FFN",
          location: ErrorLocation(file: request.model))
      }
    }
    let emoe = try wholeModel(ContainerDenseView(container), path: request.model)
    let dense: WholeModel
    let denseFrom: String
    if let source = request.source {
      dense = try wholeModel(try SourceLocator.open(source), path: source)
      denseFrom = "source"
    } else {
      dense = emoe
      denseFrom = "container"
    }
    // Read and tokenise the input once, in the form the family is measured on.
    let tokens: [Int]
    let sentences: [[Int]]
    let tokenizerSummary: String
    let input: String
    var sentenceTokenizer: Tokenizer?
    switch emoe {
    case .decoder:
      (tokens, tokenizerSummary, input) = try inputTokens(request, container)
      sentences = []
    case .encoder:
      guard let text = request.text else {
        throw EvaluationError(
          "an encoder is measured on sentences of a text; give --text, not --tokens")
      }
      (sentences, sentenceTokenizer) = try sentenceTokens(text, request, container, dense)
      tokenizerSummary = sentenceTokenizer!.summary
      (tokens, input) = ([], text)
    }
    var weights: [Int: ExpertFFNWeights] = [:]
    var routed: [EvaluationRouter: [Int: ExpertFFNWeights]] = [:]
    do {
      for record in container.layers {
        weights[record.layer] = try ExpertFFNWeights(container: container, layer: record)
        for router in routers {
          routed[router, default: [:]][record.layer] = try router.weights(
            weights[record.layer]!, record: record)
        }
      }
    } catch {
      throw EvaluationError("\(error)", location: ErrorLocation(file: request.model))
    }
    var randomWeights: [Int: ExpertFFNWeights] = [:]
    if let seed = request.randomBaselineSeed {
      progress("random partition of every converted layer (seed \(seed))")
      do {
        let view = try ContainerDenseView(container)
        let architecture = try Architecture.detect(view)
        for record in container.layers {
          randomWeights[record.layer] = try RandomPartition.weights(
            view: view, architecture: architecture, record: record,
            stored: weights[record.layer]!, seed: seed)
        }
      } catch {
        throw EvaluationError("\(error)", location: ErrorLocation(file: request.model))
      }
    }
    /// The FFNs of the last clustered run, for its expert load.
    var lastBlocks: [Int: LoadCountingFFN] = [:]
    var router = routers[0]
    func replacing(_ setting: [Int: Int], random: Bool = false) throws(EvaluationError) -> [Int:
      any FeedForwardBlock]
    {
      var blocks: [Int: LoadCountingFFN] = [:]
      do {
        for (layer, k) in setting {
          blocks[layer] = LoadCountingFFN(
            try ExpertFFN(
              weights: random ? randomWeights[layer]! : routed[router]![layer]!, topK: k))
        }
      } catch {
        throw EvaluationError("\(error)", location: ErrorLocation(file: request.model))
      }
      if !random { lastBlocks = blocks }
      return blocks
    }
    let layerCount = try modelLayerCount(emoe, container)
    let denseCost =
      container.layers.first.map {
        Double($0.family == .glu ? 3 : 2) * Double($0.hiddenSize * $0.intermediateSize)
      } ?? 0
    let measure: QualityReport.Measure
    let segments: Int
    let tokenCount: Int
    let denseValue: Double
    let run: ([Int: Int], Bool) throws(EvaluationError) -> Double
    var maskedRun: (([Int: Int]) throws(EvaluationError) -> Double)?
    var denseMaskedLoss: Double?
    var masking: (seed: UInt64, positions: Int)?
    switch emoe {
    case .decoder:
      // OPT's learned positions end at max_position_embeddings: no window may pass them.
      let window = min(request.window, emoe.maximumTokens ?? request.window)
      let windows = Perplexity.windows(tokens: tokens.count, window: window)
      progress("dense model: \(windows.count) windows of up to \(window) tokens")
      denseValue = try perplexity(dense, tokens, windows, [:], path: request.model)
      run = { (setting, random) throws(EvaluationError) in
        try perplexity(
          emoe, tokens, windows, try replacing(setting, random: random), path: request.model)
      }
      (measure, segments, tokenCount) = (.perplexity, windows.count, tokens.count)
    case .encoder:
      progress("dense model: \(sentences.count) sentences")
      let reference = try embeddings(dense, sentences, [:], path: request.model)
      denseValue = 1
      run = { (setting, random) throws(EvaluationError) in
        let embedded = try embeddings(
          emoe, sentences, try replacing(setting, random: random), path: request.model)
        return zip(reference, embedded).map { Self.cosine($0, $1) }.reduce(0, +)
          / Double(max(sentences.count, 1))
      }
      (measure, segments, tokenCount) = (
        .cosine, sentences.count, sentences.reduce(0) { $0 + $1.count }
      )
      if case .encoder(let denseEncoder) = dense, case .encoder(let emoeEncoder) = emoe,
        denseEncoder.maskedLMHead != nil, emoeEncoder.maskedLMHead != nil,
        let tokenizer = sentenceTokenizer
      {
        guard let maskID = tokenizer.maskID else {
          throw EvaluationError(
            "has a masked-LM head but its tokenizer (\(tokenizer.summary)) has no [MASK] token",
            location: ErrorLocation(file: request.model))
        }
        let masked = MaskedPositions.choose(
          sentences: sentences, prefix: tokenizer.prefix.count, suffix: tokenizer.suffix.count,
          seed: request.maskSeed)
        masking = (request.maskSeed, masked.reduce(0) { $0 + $1.count })
        progress("dense model: masked-LM loss over \(masking!.positions) masked tokens")
        denseMaskedLoss = try maskedLMLoss(
          denseEncoder, sentences, masked, Int(maskID), [:], path: request.model)
        maskedRun = { (setting) throws(EvaluationError) in
          try maskedLMLoss(
            emoeEncoder, sentences, masked, Int(maskID), try replacing(setting),
            path: request.model)
        }
      }
    }
    var points: [QualityReport.Point] = []
    for (position, current) in routers.enumerated() {
      router = current
      for setting in settings {
        progress("EMoE model (router \(current.rawValue)) at top-k " + describe(setting))
        // The masked-LM run first, so that the expert load is the measure's run.
        let maskedLoss = try maskedRun?(setting)
        var measured = point(
          setting, try run(setting, false), container, layerCount, denseCost, router: current)
        measured.expertLoad = lastBlocks.mapValues(\.load)
        measured.maskedLMLoss = maskedLoss
        // The random partition keeps the average-key rule: measured once, with the first router.
        if !randomWeights.isEmpty && position == 0 {
          progress("random partition at top-k " + describe(setting))
          measured.randomValue = try run(setting, true)
        }
        points.append(measured)
      }
    }
    router = routers[0]
    var layerPoints: [QualityReport.Point] = []
    if request.perLayer {
      for setting in settings {
        for record in container.layers where setting[record.layer]! < record.expertCount {
          progress("layer \(record.layer) alone at top-k \(setting[record.layer]!)")
          let alone = [record.layer: setting[record.layer]!]
          layerPoints.append(
            point(
              alone, try run(alone, false), container, layerCount, denseCost, router: router))
        }
      }
    }
    var report = QualityReport(
      model: request.model, input: input, tokenizer: tokenizerSummary, tokenCount: tokenCount,
      segments: segments, measure: measure, denseFrom: denseFrom, dense: denseValue,
      points: points, randomSeed: request.randomBaselineSeed,
      layerPoints: request.perLayer ? layerPoints : nil)
    report.denseMaskedLMLoss = denseMaskedLoss
    report.masking = masking
    report.layers = container.layers.map {
      QualityReport.Layer(
        layer: $0.layer, experts: $0.expertCount, topK: $0.topK,
        clustering: "\($0.clustering.method) on \($0.clustering.keys.rawValue)",
        sse: $0.clustering.sse)
    }
    let manifest = container.manifest
    report.provenance =
      [
        ("tool", "\(manifest.tool.name) \(manifest.tool.version)"),
        ("source format", manifest.source.format),
      ]
      + manifest.source.files.map {
        ("source file", "\($0.name) (\($0.size) bytes, SHA-256 \($0.sha256))")
      }
      + [("options", manifest.options.serialized())]
    return report
  }

  private static func describe(_ setting: [Int: Int]) -> String {
    let values = Set(setting.values)
    return values.count == 1 ? "\(values.first!)" : "per layer"
  }

  private static func point(
    _ setting: [Int: Int], _ value: Double, _ container: ContainerFile, _ layerCount: Int,
    _ denseCost: Double, router: EvaluationRouter
  ) -> QualityReport.Point {
    QualityReport.Point(
      topKPerLayer: setting.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, value: value,
      active: ActiveCompute(
        container: container, topK: setting, layerCount: layerCount, denseCost: denseCost,
        router: router),
      router: router)
  }

  /// Each setting's top-k per converted layer: the requested values, or E, 3E/4, E/2, E/4 and
  /// the top-k each layer records.
  static func topKSettings(_ request: QualityRequest, _ container: ContainerFile)
    throws(EvaluationError) -> [[Int: Int]]
  {
    if let values = request.topK {
      for k in values {
        if let record = container.layers.first(where: { k > $0.expertCount }) {
          throw EvaluationError(
            "--top-k \(k) is above layer \(record.layer)'s \(record.expertCount) experts",
            location: ErrorLocation(file: request.model))
        }
      }
      return values.map { k in
        Dictionary(uniqueKeysWithValues: container.layers.map { ($0.layer, k) })
      }
    }
    let fractions = [(4, 4), (3, 4), (1, 2), (1, 4)]
    var settings: [[Int: Int]] = []
    for (numerator, denominator) in fractions {
      let setting = Dictionary(
        uniqueKeysWithValues: container.layers.map {
          ($0.layer, max(1, $0.expertCount * numerator / denominator))
        })
      if !settings.contains(setting) { settings.append(setting) }
    }
    // The container's own choice (per-layer top-k from convert --calibration, for one).
    let recorded = Dictionary(uniqueKeysWithValues: container.layers.map { ($0.layer, $0.topK) })
    if !settings.contains(recorded) { settings.append(recorded) }
    return settings
  }

  private static func open(_ path: String) throws(EvaluationError) -> ContainerFile {
    do {
      return try ContainerFile(path: path)
    } catch {
      throw EvaluationError(error.description, isIOFailure: error.kind == .io)
    }
  }

  package static func wholeModel(_ source: @autoclosure () throws -> any ModelSource, path: String)
    throws(EvaluationError) -> WholeModel
  {
    do {
      return try WholeModel(source: source())
    } catch let error as VerificationError {
      throw EvaluationError(
        error.problem, location: error.location ?? ErrorLocation(file: path),
        isIOFailure: error.isIOFailure)
    } catch {
      throw EvaluationError("\(error)", location: ErrorLocation(file: path))
    }
  }

  /// The number of transformer layers, for the whole-model compute share.
  private static func modelLayerCount(_ model: WholeModel, _ container: ContainerFile)
    throws(EvaluationError) -> Int
  {
    switch model {
    case .decoder(let decoder): decoder.layerCount
    case .encoder(let encoder): encoder.configuration.layerCount
    }
  }

  /// The tokenizer: `--tokenizer`, the container's GGUF metadata, or the source's.
  static func tokenizer(_ request: QualityRequest, _ container: ContainerFile)
    throws(EvaluationError) -> Tokenizer
  {
    do {
      if let path = request.tokenizer { return try Tokenizer.load(path: path) }
      if case .gguf(let pairs) = container.metadata {
        return try Tokenizer.load(ggufMetadata: pairs, file: request.model)
      }
      if let source = request.source { return try Tokenizer.load(path: source) }
    } catch {
      throw EvaluationError(error.reason, location: error.location)
    }
    throw EvaluationError(
      "holds no tokenizer (its source is \(container.manifest.source.format)); give --source "
        + "(the dense checkpoint, with tokenizer.json beside it), --tokenizer, or --tokens",
      location: ErrorLocation(file: request.model))
  }

  private static func inputTokens(_ request: QualityRequest, _ container: ContainerFile)
    throws(EvaluationError) -> (tokens: [Int], tokenizer: String, input: String)
  {
    if let path = request.tokens {
      let ids: [Int]
      do {
        ids = try Evaluator.tokenIDs(path).0
      } catch {
        throw EvaluationError(
          error.problem, location: error.location ?? ErrorLocation(file: path),
          isIOFailure: error.isIOFailure)
      }
      guard ids.count >= 2 else {
        throw EvaluationError(
          "holds \(ids.count) token; perplexity needs at least 2",
          location: ErrorLocation(file: path, tensor: "input_ids"))
      }
      return (Array(ids.prefix(request.maximumTokens)), "token ids", path)
    }
    guard let path = request.text else {
      throw EvaluationError("give --text FILE or --tokens FILE.safetensors")
    }
    let text = try EvaluationText.read(path)
    let tokenizer = try tokenizer(request, container)
    let ids = tokenizer.encode(text).prefix(request.maximumTokens).map { Int($0) }
    guard ids.count >= 2 else {
      throw EvaluationError(
        "gives \(ids.count) token; perplexity needs at least 2", location: ErrorLocation(file: path)
      )
    }
    return (ids, tokenizer.summary, path)
  }

  /// The perplexity of `model` on `tokens` over `windows`, with `replacing`'s FFNs.
  package static func perplexity(
    _ model: WholeModel, _ tokens: [Int], _ windows: [(range: Range<Int>, firstScored: Int)],
    _ replacing: [Int: any FeedForwardBlock], path: String
  ) throws(EvaluationError) -> Double {
    var accumulator = Perplexity()
    for window in windows {
      let slice = Array(tokens[window.range])
      let logits: [Float]
      do {
        guard let output = try model.run(tokens: slice, replacing: replacing).logits else {
          throw EvaluationError("the model gives no logits", location: ErrorLocation(file: path))
        }
        logits = output
      } catch let error as EvaluationError {
        throw error
      } catch {
        throw EvaluationError("\(error)", location: ErrorLocation(file: path))
      }
      let vocabulary = logits.count / slice.count
      for row in logits where !row.isFinite {
        throw EvaluationError(
          "the model's logits hold \(row) (window at token \(window.range.lowerBound))",
          location: ErrorLocation(file: path), isNonFinite: true)
      }
      logits.withUnsafeBufferPointer { all in
        for position in window.firstScored..<window.range.upperBound {
          let row = position - 1 - window.range.lowerBound
          accumulator.add(
            logits: UnsafeBufferPointer(
              rebasing: all[(row * vocabulary)..<((row + 1) * vocabulary)]),
            target: tokens[position])
        }
      }
    }
    return accumulator.value ?? .nan
  }

  /// Each sentence's token ids, special tokens included, cut to the model's length, and what
  /// tokenised them.
  private static func sentenceTokens(
    _ path: String, _ request: QualityRequest, _ container: ContainerFile, _ model: WholeModel
  ) throws(EvaluationError) -> (sentences: [[Int]], tokenizer: Tokenizer) {
    let text = try EvaluationText.read(path)
    let tokenizer = try tokenizer(request, container)
    let result = sentences(
      of: text, tokenizer: tokenizer, model: model, maximumTokens: request.maximumTokens)
    guard !result.isEmpty else {
      throw EvaluationError("holds no sentence", location: ErrorLocation(file: path))
    }
    return (result, tokenizer)
  }

  /// Each sentence's token ids, special tokens included, each cut to the model's length, until
  /// `maximumTokens` tokens are taken.
  package static func sentences(
    of text: String, tokenizer: Tokenizer, model: WholeModel, maximumTokens: Int
  ) -> [[Int]] {
    let limit = model.maximumTokens ?? 512
    var budget = maximumTokens
    var result: [[Int]] = []
    for sentence in Sentences.split(text) where budget > 0 {
      var ids = tokenizer.encode(sentence, addSpecialTokens: false)
      let room = limit - tokenizer.prefix.count - tokenizer.suffix.count
      if ids.count > room { ids.removeLast(ids.count - room) }
      let full = (tokenizer.prefix + ids + tokenizer.suffix).map { Int($0) }
      result.append(full)
      budget -= full.count
    }
    return result
  }

  /// The mean-pooled last hidden state of each sentence, with `replacing`'s FFNs.
  package static func embeddings(
    _ model: WholeModel, _ sentences: [[Int]], _ replacing: [Int: any FeedForwardBlock],
    path: String
  ) throws(EvaluationError) -> [[Double]] {
    var result: [[Double]] = []
    for ids in sentences {
      let hidden: [Float]
      do {
        hidden = try model.run(tokens: ids, replacing: replacing).hiddenStates
      } catch {
        throw EvaluationError("\(error)", location: ErrorLocation(file: path))
      }
      let d = model.hiddenSize
      var pooled = [Double](repeating: 0, count: d)
      for token in 0..<ids.count {
        for index in 0..<d { pooled[index] += Double(hidden[token * d + index]) }
      }
      if let bad = pooled.first(where: { !$0.isFinite }) {
        throw EvaluationError(
          "the model's hidden states hold \(bad)", location: ErrorLocation(file: path),
          isNonFinite: true)
      }
      result.append(pooled.map { $0 / Double(ids.count) })
    }
    return result
  }

  /// The mean masked-LM cross-entropy over every masked position of every sentence.
  private static func maskedLMLoss(
    _ encoder: BertEncoder, _ sentences: [[Int]], _ masked: [[Int]], _ maskID: Int,
    _ replacing: [Int: any FeedForwardBlock], path: String
  ) throws(EvaluationError) -> Double {
    var accumulator = Perplexity()
    for (ids, positions) in zip(sentences, masked) where !positions.isEmpty {
      let logits: [Float]
      do {
        logits = try encoder.maskedLMLogits(
          tokens: ids, positions: positions, maskID: maskID, replacing: replacing)
      } catch {
        throw EvaluationError("\(error)", location: ErrorLocation(file: path))
      }
      if let bad = logits.first(where: { !$0.isFinite }) {
        throw EvaluationError(
          "the model's masked-LM logits hold \(bad)", location: ErrorLocation(file: path),
          isNonFinite: true)
      }
      let vocabulary = logits.count / positions.count
      logits.withUnsafeBufferPointer { all in
        for (row, position) in positions.enumerated() {
          accumulator.add(
            logits: UnsafeBufferPointer(
              rebasing: all[(row * vocabulary)..<((row + 1) * vocabulary)]),
            target: ids[position])
        }
      }
    }
    return accumulator.count > 0
      ? accumulator.negativeLogLikelihood / Double(accumulator.count) : .nan
  }

  /// The cosine similarity of two vectors.
  package static func cosine(_ a: [Double], _ b: [Double]) -> Double {
    var dot = 0.0
    var normA = 0.0
    var normB = 0.0
    for index in a.indices {
      dot += a[index] * b[index]
      normA += a[index] * a[index]
      normB += b[index] * b[index]
    }
    return dot / max((normA * normB).squareRoot(), .leastNormalMagnitude)
  }
}
