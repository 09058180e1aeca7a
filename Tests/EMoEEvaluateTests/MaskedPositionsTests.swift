import Testing

@testable import EMoEEvaluate

/// The masked-LM protocol's choice of positions: 15 % of the ordinary tokens, never the
/// special ones, the same for the same seed.
@Suite("Masked positions")
struct MaskedPositionsTests {
  @Test("15 % of each sentence's ordinary tokens, rounded, at least one; [CLS]/[SEP] never")
  func protocolRules() {
    let sentences = [Array(0..<22), Array(0..<3), Array(0..<2), Array(0..<102)]
    let masked = MaskedPositions.choose(sentences: sentences, prefix: 1, suffix: 1, seed: 5)
    // 20 ordinary tokens → 3; 1 → 1 (at least one); 0 → none; 100 → 15.
    #expect(masked.map(\.count) == [3, 1, 0, 15])
    for (ids, positions) in zip(sentences, masked) {
      #expect(positions == positions.sorted() && Set(positions).count == positions.count)
      #expect(positions.allSatisfy { $0 >= 1 && $0 < ids.count - 1 })
    }
    #expect(MaskedPositions.choose(sentences: sentences, prefix: 1, suffix: 1, seed: 5) == masked)
    #expect(MaskedPositions.choose(sentences: sentences, prefix: 1, suffix: 1, seed: 6) != masked)
  }
}
