/// How a text is cut into words before a byte-level BPE model merges each word's bytes.
///
/// Each case is one of the split patterns that GGUF's `tokenizer.ggml.pre` names and that
/// `tokenizer.json` spells out as a pre-tokenizer; the cut points equal those of the
/// Oniguruma patterns they stand for (tested against the `tokenizers` package).
public enum PreTokenizer: String, Sendable, CaseIterable {
  /// GPT-2's pattern: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
  case gpt2
  /// Every digit on its own, then GPT-2's pattern (SmolLM, StarCoder: `smollm` in llama.cpp).
  case digitsThenGPT2
  /// LLaMA 3's pattern: case-insensitive contractions, letters with one leading non-letter,
  /// numbers in runs of at most three, punctuation with trailing newlines, newline runs.
  case llama3
  /// Qwen2's pattern: LLaMA 3's with every digit on its own (`\p{N}` for `\p{N}{1,3}`).
  case qwen2

  /// The pieces of `scalars`, as ranges that cover it in order.
  func pieces(_ scalars: [Unicode.Scalar]) -> [Range<Int>] {
    var result: [Range<Int>] = []
    result.reserveCapacity(scalars.count / 3 + 1)
    switch self {
    case .gpt2:
      Self.gpt2(scalars, 0..<scalars.count, into: &result)
    case .digitsThenGPT2:
      var start = 0
      for index in scalars.indices where ScalarClass.isNumber(scalars[index]) {
        if start < index { Self.gpt2(scalars, start..<index, into: &result) }
        result.append(index..<(index + 1))
        start = index + 1
      }
      if start < scalars.count { Self.gpt2(scalars, start..<scalars.count, into: &result) }
    case .llama3:
      Self.llama3(scalars, digits: 3, into: &result)
    case .qwen2:
      Self.llama3(scalars, digits: 1, into: &result)
    }
    return result
  }

  /// The length of a contraction (`s`, `t`, `re`, `ve`, `m`, `ll`, `d`) after an apostrophe
  /// at `index`, or 0.
  private static func contraction(
    _ s: [Unicode.Scalar], after index: Int, end: Int, ignoringCase: Bool
  ) -> Int {
    func letter(_ offset: Int) -> UInt32? {
      let position = index + 1 + offset
      guard position < end, s[position].value < 0x80 else { return nil }
      let value = s[position].value
      return ignoringCase && value >= 0x41 && value <= 0x5A ? value | 0x20 : value
    }
    guard s[index] == "'", let first = letter(0) else { return 0 }
    switch first {
    case 0x73, 0x74, 0x6D, 0x64: return 1  // s t m d
    case 0x72, 0x76: return letter(1) == 0x65 ? 2 : 0  // re ve
    case 0x6C: return letter(1) == 0x6C ? 2 : 0  // ll
    default: return 0
    }
  }

  /// The end of the run of scalars from `start` that satisfy `test`, stopping at `end`.
  @inline(__always)
  private static func run(
    _ s: [Unicode.Scalar], from start: Int, end: Int, while test: (Unicode.Scalar) -> Bool
  ) -> Int {
    var index = start
    while index < end && test(s[index]) { index += 1 }
    return index
  }

  /// The end of the whitespace match at `index`: `\s+(?!\S)`, else `\s+`.
  private static func whitespace(_ s: [Unicode.Scalar], at index: Int, end: Int) -> Int {
    let runEnd = run(s, from: index, end: end, while: ScalarClass.isWhitespace)
    // Followed by a non-space: the lookahead gives the last space back when it can.
    if runEnd < end && runEnd - index >= 2 { return runEnd - 1 }
    return runEnd
  }

  private static func gpt2(
    _ s: [Unicode.Scalar], _ range: Range<Int>, into result: inout [Range<Int>]
  ) {
    var index = range.lowerBound
    let end = range.upperBound
    while index < end {
      let start = index
      let length = contraction(s, after: index, end: end, ignoringCase: false)
      if length > 0 {
        index += 1 + length
      } else {
        let body = s[index] == " " && index + 1 < end ? index + 1 : index
        let first = s[body]
        if ScalarClass.isLetter(first) {
          index = run(s, from: body, end: end, while: ScalarClass.isLetter)
        } else if ScalarClass.isNumber(first) {
          index = run(s, from: body, end: end, while: ScalarClass.isNumber)
        } else if ScalarClass.isOther(first) {
          index = run(s, from: body, end: end, while: ScalarClass.isOther)
        } else {
          index = whitespace(s, at: index, end: end)
        }
      }
      result.append(start..<index)
    }
  }

  /// LLaMA 3's split, with numbers in runs of at most `digits` (3; Qwen2's 1).
  private static func llama3(
    _ s: [Unicode.Scalar], digits: Int, into result: inout [Range<Int>]
  ) {
    var index = 0
    let end = s.count
    while index < end {
      let start = index
      let current = s[index]
      let length = contraction(s, after: index, end: end, ignoringCase: true)
      if length > 0 {
        index += 1 + length
      } else if ScalarClass.isLetter(current) {
        index = run(s, from: index, end: end, while: ScalarClass.isLetter)
      } else if !ScalarClass.isNewline(current) && !ScalarClass.isNumber(current)
        && index + 1 < end && ScalarClass.isLetter(s[index + 1])
      {
        index = run(s, from: index + 1, end: end, while: ScalarClass.isLetter)
      } else if ScalarClass.isNumber(current) {
        index = run(s, from: index, end: min(end, index + digits), while: ScalarClass.isNumber)
      } else if let punctuation = llama3Punctuation(s, at: index, end: end) {
        index = punctuation
      } else {
        // Whitespace: `\s*[\r\n]+` up to the run's last newline, else the GPT-2 rules.
        let runEnd = run(s, from: index, end: end, while: ScalarClass.isWhitespace)
        if let lastNewline = (index..<runEnd).last(where: { ScalarClass.isNewline(s[$0]) }) {
          index = lastNewline + 1
        } else {
          index = whitespace(s, at: index, end: end)
        }
      }
      result.append(start..<index)
    }
  }

  /// ` ?[^\s\p{L}\p{N}]+[\r\n]*` at `index`: the match's end, or `nil`.
  private static func llama3Punctuation(_ s: [Unicode.Scalar], at index: Int, end: Int) -> Int? {
    let body = s[index] == " " && index + 1 < end ? index + 1 : index
    guard ScalarClass.isOther(s[body]) else { return nil }
    let others = run(s, from: body, end: end, while: ScalarClass.isOther)
    return run(s, from: others, end: end, while: ScalarClass.isNewline)
  }
}
