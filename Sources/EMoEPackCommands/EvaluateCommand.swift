import ArgumentParser
import EMoECore
import EMoEEvaluate
import Logging

/// `emoe-pack evaluate MODEL.emoe --text FILE`: what sparsity costs on real text.
///
/// Parsing and printing only; the work is ``EMoEEvaluate/QualityEvaluator``.
struct EvaluateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "evaluate",
    abstract: "Measure the dense and the EMoE model on real text at several top-k values.",
    discussion: """
      Tokenises --text with the model's own tokenizer (from the container's GGUF metadata, \
      --tokenizer, or the tokenizer.json beside --source), or reads token ids from --tokens. \
      Decoders: perplexity, in windows of --window tokens sliding by half a window. Encoders \
      (BERT): the mean cosine of each sentence's mean-pooled embedding to the dense model's. \
      For each top-k (default E, 3E/4, E/2 and E/4 of every converted layer, and each layer's recorded top-k), the share of FFN \
      multiply-adds still performed, in the converted layers and in the whole model's FFNs. \
      The dense baseline is --source when given, otherwise the container's own dense form \
      (equal to the source: see verify). --per-layer also measures each converted layer alone \
      at each top-k below its E, the others dense: which layers tolerate sparsity. See \
      docs/evaluate.md. --baseline random also measures each top-k with every converted \
      layer's neurons assigned to experts at random (seeded by --baseline-seed and the layer; \
      same expert sizes, same average-key router rule; with the first --router only). --router \
      measures each listed router at every top-k: average-key, up and up-abs from the stored \
      matrices, inter and inter-abs as oracles that compute every neuron to choose (upper \
      bounds that save nothing; their active fraction is still the selected share). --report writes the figures, the \
      per-layer sensitivity, the expert load at the stored top-k, the clustering SSE and the \
      conversion's provenance as one HTML page (written atomically; it may not be an input).

      Exit codes: 0 success; 1 I/O failure; 2 a text that is not UTF-8, a model family \
      without a whole-model runner, a --top-k above a layer's E, --router up or up-abs on a \
      plain FFN, or no tokenizer; 8 NaN or \
      infinity in the model's outputs; 64 usage error.
      """)

  @Argument(help: "The .emoe container.")
  var model: String

  @Option(help: "A UTF-8 text file to evaluate on.")
  var text: String?

  @Option(help: "A safetensors file with input_ids, instead of --text.")
  var tokens: String?

  @Option(help: "The dense source checkpoint (the dense baseline, and its tokenizer.json).")
  var source: String?

  @Option(help: "A tokenizer.json or GGUF file whose tokenizer to use.")
  var tokenizer: String?

  @Option(
    name: .customLong("top-k"), parsing: .singleValue,
    help: "Top-k values to measure, comma-separated (default: E, 3E/4, E/2, E/4).")
  var topK: [String] = []

  @Option(
    parsing: .singleValue,
    help: ArgumentHelp(
      "Routers to measure, comma-separated from average-key, up, up-abs, inter, inter-abs "
        + "(default: the container's; inter and inter-abs are oracles that compute every neuron).",
      valueName: "list"))
  var router: [String] = []

  @Option(name: .customLong("max-tokens"), help: "The most tokens read from the text.")
  var maxTokens = 1024

  @Option(help: "The longest window a decoder runs at once.")
  var window = 512

  @Flag(
    name: .customLong("per-layer"),
    help: "Also measure each converted layer alone at each top-k below its E, the others dense.")
  var perLayer = false

  @Option(
    help: ArgumentHelp(
      "Also measure each top-k with neurons assigned to experts at random (same sizes, same "
        + "router rule): the evidence for emergent modularity.",
      valueName: "random"))
  var baseline: EvaluationBaseline?

  @Option(name: .customLong("baseline-seed"), help: "The seed of the random partition.")
  var baselineSeed: UInt64 = 0

  @Option(
    name: .customLong("mask-seed"),
    help: "The seed of the masked positions of the masked-LM loss (encoders with an MLM head).")
  var maskSeed: UInt64 = 0

  @Option(help: "Also write a self-contained HTML report (inline SVG, no script) to this file.")
  var report: String?

  @Flag(help: "Print one JSON document on stdout.")
  var json = false

  @OptionGroup var global: GlobalOptions

  /// The `--top-k` values, each list split at commas.
  func topKValues() throws -> [Int]? {
    guard !topK.isEmpty else { return nil }
    var values: [Int] = []
    for text in topK.flatMap({ $0.split(separator: ",") }) {
      guard let value = Int(text.trimmingCharacters(in: " ")), value >= 1 else {
        throw ValidationError("--top-k takes whole numbers of at least 1, not '\(text)'")
      }
      values.append(value)
    }
    return values
  }

  /// The `--router` values, each list split at commas, or `nil` for the container's router.
  func routerValues() throws -> [EvaluationRouter]? {
    guard !router.isEmpty else { return nil }
    var values: [EvaluationRouter] = []
    for text in router.flatMap({ $0.split(separator: ",") }) {
      let name = String(text.trimmingCharacters(in: " "))
      guard let value = EvaluationRouter(rawValue: name) else {
        let names = EvaluationRouter.allCases.map(\.rawValue).joined(separator: ", ")
        throw ValidationError("--router takes \(names), not '\(name)'")
      }
      if !values.contains(value) { values.append(value) }
    }
    return values
  }

  func validate() throws {
    _ = try topKValues()
    _ = try routerValues()
    if (text == nil) == (tokens == nil) {
      throw ValidationError("give exactly one of --text and --tokens")
    }
    if maxTokens < 2 { throw ValidationError("--max-tokens must be at least 2, not \(maxTokens)") }
    if window < 2 { throw ValidationError("--window must be at least 2, not \(window)") }
  }

  func run() throws {
    let logger = global.makeLogger()
    try CommandFailure.report {
      let request = QualityRequest(
        model: model, text: text, tokens: tokens, source: source, tokenizer: tokenizer,
        topK: try topKValues(), maximumTokens: maxTokens, window: window, perLayer: perLayer,
        randomBaselineSeed: baseline == .random ? baselineSeed : nil, routers: try routerValues(),
        maskSeed: maskSeed)
      if let report {
        let inputs = [model, text, tokens, source, tokenizer].compactMap { $0 }
        try OutputSafety.check(
          inputs: inputs.map { ($0, "the input \($0)") }, outputs: [(report, "--report")])
      }
      do {
        let result = try QualityEvaluator.evaluate(request) { logger.info("\($0)") }
        if let report {
          let writer = try AtomicFileWriter(destination: report)
          do {
            try writer.write(Array(result.html().utf8))
            try writer.commit()
          } catch {
            writer.abort()
            throw error
          }
          logger.info("wrote \(report)")
        }
        if json {
          print(result.json().prettySerialized())
        } else {
          for line in result.lines() { print(line) }
        }
      } catch let error as EvaluationError {
        CommandFailure.printError("\(error)")
        throw error.isIOFailure
          ? ExitStatus.failure : error.isNonFinite ? ExitStatus.nonFinite : ExitStatus.invalidInput
      }
    }
  }
}

extension Substring {
  /// The text without leading and trailing `character`s.
  fileprivate func trimmingCharacters(in character: Character) -> Substring {
    var result = self
    while result.first == character { result.removeFirst() }
    while result.last == character { result.removeLast() }
    return result
  }
}
