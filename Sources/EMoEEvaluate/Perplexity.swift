import RealModule

/// Accumulates the negative log-likelihood of next-token predictions, in `Double`.
public struct Perplexity: Sendable, Equatable {
  /// The summed negative log-likelihood, in nats.
  public private(set) var negativeLogLikelihood: Double = 0
  /// The number of predicted tokens.
  public private(set) var count = 0

  /// An empty accumulator.
  public init() {}

  /// `exp(mean NLL)`, or `nil` before any token.
  public var value: Double? {
    count > 0 ? .exp(negativeLogLikelihood / Double(count)) : nil
  }

  /// Adds the prediction of `target` from one row of logits.
  public mutating func add(logits row: UnsafeBufferPointer<Float>, target: Int) {
    var maximum = -Float.infinity
    for value in row where value > maximum { maximum = value }
    var sum = 0.0
    for value in row { sum += .exp(Double(value) - Double(maximum)) }
    negativeLogLikelihood += Double.log(sum) - (Double(row[target]) - Double(maximum))
    count += 1
  }

  /// The windows that cover `tokens` tokens with at most `window` tokens each, each starting
  /// `window / 2` after the last, and the first position each window scores (positions before
  /// it were scored by the window before, with less context).
  ///
  /// Every position from 1 to `tokens - 1` is scored exactly once, as in Hugging Face's
  /// strided perplexity.
  public static func windows(tokens: Int, window: Int) -> [(range: Range<Int>, firstScored: Int)] {
    guard tokens > 1 else { return [] }
    let size = max(2, window)
    let stride = max(1, size / 2)
    var result: [(range: Range<Int>, firstScored: Int)] = []
    var scoredEnd = 1
    var start = 0
    while scoredEnd < tokens {
      let end = min(start + size, tokens)
      result.append((start..<end, max(scoredEnd, start + 1)))
      scoredEnd = end
      start += stride
      if end == tokens { break }
    }
    return result
  }
}
