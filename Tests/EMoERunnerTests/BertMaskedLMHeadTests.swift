import EMoECore
import EMoEFormats
import EMoERunner
import EMoETestSupport
import Foundation
import Testing

/// The BERT masked-LM head against an independent float64 numpy forward of the bert-tiny-mlm
/// fixture (Fixtures/mlm_golden, made by Fixtures/scripts/make_mlm_golden.py).
@Suite("BERT masked-LM head against numpy")
struct BertMaskedLMHeadTests {
  struct Golden: Decodable {
    var tokens: [Int]
    var logits: GoldenFiles.Array32
    var mask_id: Int
    var masked_positions: [Int]
    var masked_lm_loss: Double
  }

  static let directory = TestPaths.fixtures + "/mlm_golden"

  static func encoder(_ name: String) throws -> BertEncoder {
    try BertEncoder(source: SafeTensorsCheckpoint(path: TestPaths.fixtures + "/models/" + name))
  }

  @Test(
    "The head's logits (to 1e-5 of their largest) and the masked-LM loss (rtol 1e-4) equal numpy's"
  )
  func golden() throws {
    let golden = try GoldenFiles.index(Golden.self, at: Self.directory + "/index.json")
    let encoder = try Self.encoder("bert-tiny-mlm")
    let head = try #require(encoder.maskedLMHead)
    let v = head.vocabularySize
    #expect(golden.logits.shape == [golden.tokens.count, v])
    let hidden = try encoder.hiddenStates(tokens: golden.tokens)
    let logits = head.logits(hidden, rows: golden.tokens.count)
    let expected = try GoldenFiles.floats(golden.logits, in: Self.directory)
    #expect(logits.count == expected.count)
    // Relative to the logits' largest magnitude: the golden is a float64 forward and ours runs
    // in F32, whose rounding (which differs with OpenBLAS's kernel) is relative to that scale,
    // not to each logit (a logit near 0 carries the rounding of the large terms it cancels).
    let scale = expected.reduce(0) { max($0, Double(abs($1))) }
    var worst = 0.0
    for (ours, theirs) in zip(logits, expected) {
      worst = max(worst, Double(abs(ours - theirs)) / scale)
    }
    #expect(worst <= 1e-5, "largest difference \(worst) of the largest logit \(scale)")

    let masked = try encoder.maskedLMLogits(
      tokens: golden.tokens, positions: golden.masked_positions, maskID: golden.mask_id)
    #expect(masked.count == golden.masked_positions.count * v)
    var loss = 0.0
    for (row, position) in golden.masked_positions.enumerated() {
      let values = masked[(row * v)..<((row + 1) * v)].map(Double.init)
      let largest = values.max()!
      let total = values.reduce(0) { $0 + Foundation.exp($1 - largest) }
      loss += Foundation.log(total) + largest - values[golden.tokens[position]]
    }
    loss /= Double(golden.masked_positions.count)
    #expect(
      abs(loss / golden.masked_lm_loss - 1) <= 1e-4, "loss \(loss), numpy \(golden.masked_lm_loss)")
    // Masking changes the logits: the masked input is what was run.
    let unmasked = Array(
      logits[(golden.masked_positions[0] * v)..<((golden.masked_positions[0] + 1) * v)])
    #expect(Array(masked[0..<v]) != unmasked)
  }

  @Test("A checkpoint without cls.predictions has no head, and masked-LM logits are refused")
  func noHead() throws {
    let encoder = try Self.encoder("bert-tiny")
    #expect(encoder.maskedLMHead == nil)
    #expect(throws: RunnerError.self) {
      try encoder.maskedLMLogits(tokens: [1, 2, 3], positions: [1], maskID: 4)
    }
  }
}
