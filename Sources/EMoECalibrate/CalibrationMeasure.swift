import EMoECore
import EMoEEvaluate
import EMoERunner
import EMoETokenizers
import EMoEVerify

/// The quality measure calibration keeps: perplexity of a decoder on the text's tokens, or the
/// mean sentence-embedding cosine of an encoder to its dense self.
struct CalibrationMeasure {
  /// What is measured.
  enum Kind: String {
    case perplexity
    case cosine
  }

  let kind: Kind
  let model: WholeModel
  /// The decoder's token ids, or every sentence's ids for an encoder.
  let sequences: [[Int]]
  /// The decoder's windows over its one sequence.
  let windows: [(range: Range<Int>, firstScored: Int)]
  /// The file named in errors.
  let path: String
  /// The dense embeddings the cosine compares with (encoders), set by ``dense(recording:)``.
  private var reference: [[Double]] = []

  /// The measure of `model` on `sequences`: one token sequence for a decoder (scored over
  /// windows of at most `window` tokens), one per sentence for an encoder.
  init(model: WholeModel, sequences: [[Int]], window: Int, path: String) throws(CalibrationError) {
    self.model = model
    self.path = path
    self.sequences = sequences
    switch model {
    case .decoder:
      kind = .perplexity
      let count = sequences.first?.count ?? 0
      guard sequences.count == 1, count >= 2 else {
        throw CalibrationError(
          "gives \(count) token; calibration needs at least 2", location: ErrorLocation(file: path))
      }
      // OPT's learned positions end at max_position_embeddings: no window may pass them.
      windows = Perplexity.windows(
        tokens: count, window: min(window, model.maximumTokens ?? window))
    case .encoder:
      kind = .cosine
      guard !sequences.isEmpty else {
        throw CalibrationError("holds no sentence", location: ErrorLocation(file: path))
      }
      windows = []
    }
  }

  /// The token sequences of `text` as `model` is measured on them: the first `maximumTokens`
  /// ids for a decoder, sentences for an encoder.
  static func sequences(
    of text: String, model: WholeModel, tokenizer: Tokenizer, maximumTokens: Int
  ) -> [[Int]] {
    switch model {
    case .decoder:
      return [tokenizer.encode(text).prefix(maximumTokens).map { Int($0) }]
    case .encoder:
      return QualityEvaluator.sentences(
        of: text, tokenizer: tokenizer, model: model, maximumTokens: maximumTokens)
    }
  }

  /// The number of tokens measured.
  var tokenCount: Int { sequences.reduce(0) { $0 + $1.count } }

  /// Runs the dense model (with `recording`'s FFNs, which compute the dense output) and keeps
  /// what the EMoE runs are compared with; returns the dense value.
  mutating func dense(recording: [Int: any FeedForwardBlock]) throws(CalibrationError) -> Double {
    switch kind {
    case .perplexity:
      return try value(recording)
    case .cosine:
      reference = try wrap { () throws(EvaluationError) in
        try QualityEvaluator.embeddings(model, sequences, recording, path: path)
      }
      return 1
    }
  }

  /// The measure with `replacing`'s FFNs in place of the dense ones.
  func value(_ replacing: [Int: any FeedForwardBlock]) throws(CalibrationError) -> Double {
    switch kind {
    case .perplexity:
      return try wrap { () throws(EvaluationError) in
        try QualityEvaluator.perplexity(model, sequences[0], windows, replacing, path: path)
      }
    case .cosine:
      let embedded = try wrap { () throws(EvaluationError) in
        try QualityEvaluator.embeddings(model, sequences, replacing, path: path)
      }
      return zip(reference, embedded).map { QualityEvaluator.cosine($0, $1) }.reduce(0, +)
        / Double(max(embedded.count, 1))
    }
  }

  private func wrap<T>(_ body: () throws(EvaluationError) -> T) throws(CalibrationError) -> T {
    do {
      return try body()
    } catch {
      throw CalibrationError(
        error.problem, location: error.location, isIOFailure: error.isIOFailure)
    }
  }
}
