import Foundation
import Testing

@testable import EMoEEvaluate

@Suite("Perplexity, windows, text and sentences")
struct PerplexityTests {
  @Test(
    "windows score every position from 1 once, each window at most its size",
    arguments: [(2, 2), (3, 2), (10, 4), (200, 128), (512, 512), (513, 512), (1000, 7), (5, 100)])
  func windows(tokens: Int, size: Int) {
    let windows = Perplexity.windows(tokens: tokens, window: size)
    var scored = [Int](repeating: 0, count: tokens)
    for window in windows {
      #expect(window.range.count <= size && window.range.upperBound <= tokens)
      #expect(window.firstScored > window.range.lowerBound)
      for position in window.firstScored..<window.range.upperBound { scored[position] += 1 }
    }
    #expect(scored.first == 0)
    #expect(scored.dropFirst().allSatisfy { $0 == 1 }, "\(windows)")
  }

  @Test("one prediction: log-sum-exp minus the target's logit, in Double")
  func negativeLogLikelihood() {
    var perplexity = Perplexity()
    #expect(perplexity.value == nil)
    let row: [Float] = [1, 2, 3, 1000]
    row.withUnsafeBufferPointer { perplexity.add(logits: $0, target: 3) }
    // exp(0) for the target dominates: NLL = log(1 + e^-997 + ...) ≈ 0.
    #expect(abs(perplexity.negativeLogLikelihood) < 1e-12)
    let uniform = [Float](repeating: 0.5, count: 8)
    uniform.withUnsafeBufferPointer { perplexity.add(logits: $0, target: 2) }
    #expect(abs(perplexity.negativeLogLikelihood - log(8.0)) < 1e-12)
    #expect(abs(perplexity.value! - exp(log(8.0) / 2)) < 1e-12)
  }

  @Test("the first byte that is not UTF-8 is found")
  func utf8() {
    let cases: [([UInt8], Int?)] = [
      (Array("plain é ü 中 🎉".utf8), nil),
      ([0x61, 0xFF], 1),
      ([0x61, 0x62, 0xC3], 2),  // truncated sequence
      ([0xC0, 0xAF], 0),  // overlong
      ([0x61, 0xED, 0xA0, 0x80], 1),  // surrogate
      ([], nil),
    ]
    for (bytes, expected) in cases {
      let found = bytes.withUnsafeBytes { EvaluationText.firstInvalidUTF8($0) }
      #expect(found == expected, "\(bytes)")
    }
  }

  @Test("sentences end at . ! ? before whitespace and at blank lines; short pieces are dropped")
  func sentences() {
    let text = """
      The first one. The second
      one, wrapped!  Third? and this
      stays together, 3.14 too.

      A heading without a stop

      ok
      """
    #expect(
      Sentences.split(text) == [
        "The first one.", "The second one, wrapped!", "Third?",
        "and this stays together, 3.14 too.",
        "A heading without a stop",
      ])
  }
}
