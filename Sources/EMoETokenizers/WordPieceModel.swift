import Foundation

/// BERT's tokenizer: the BERT normaliser and pre-tokenizer, then greedy longest-match WordPiece.
///
/// Follows the `tokenizers` package's `BertNormalizer`, `BertPreTokenizer` and `WordPiece`
/// (tested against it on the real MiniLM vocabulary).
struct WordPieceModel: Sendable {
  /// The id of each vocabulary string.
  let ids: [String: Int32]
  /// The id written for a word that cannot be spelled from the vocabulary.
  let unknownID: Int32
  /// The prefix of pieces that continue a word (`##`).
  let continuingPrefix: String
  /// Words longer than this many characters are unknown.
  let maximumWordLength: Int
  /// Whether text is lower-cased.
  let lowercases: Bool
  /// Whether accents are removed (NFD, then nonspacing marks dropped).
  let stripsAccents: Bool
  /// Whether control characters are removed and every space becomes U+0020.
  let cleansText: Bool
  /// Whether CJK ideographs become words of their own.
  let isolatesCJK: Bool

  /// Appends the ids of `text` (no special tokens) to `output`.
  func encode(_ text: Substring, into output: inout [Int32]) {
    for word in words(normalize(text)) {
      spell(word, into: &output)
    }
  }

  /// The BERT normaliser.
  private func normalize(_ text: Substring) -> String {
    var scalars = String.UnicodeScalarView()
    for scalar in text.unicodeScalars {
      if cleansText {
        if scalar.value == 0 || scalar.value == 0xFFFD || Self.isControl(scalar) { continue }
        if Self.isBertWhitespace(scalar) {
          scalars.append(" ")
          continue
        }
      }
      if isolatesCJK && Self.isCJK(scalar) {
        scalars.append(" ")
        scalars.append(scalar)
        scalars.append(" ")
      } else {
        scalars.append(scalar)
      }
    }
    var result = String(scalars)
    if stripsAccents {
      let decomposed = result.decomposedStringWithCanonicalMapping
      var kept = String.UnicodeScalarView()
      for scalar in decomposed.unicodeScalars
      where scalar.properties.generalCategory != .nonspacingMark {
        kept.append(scalar)
      }
      result = String(kept)
    }
    if lowercases { result = Self.lowercased(result) }
    return result
  }

  /// Per-scalar full lower-casing, as Rust's `char::to_lowercase` does (no context rules).
  private static func lowercased(_ text: String) -> String {
    var scalars = String.UnicodeScalarView()
    for scalar in text.unicodeScalars {
      if scalar.value < 0x80 {
        scalars.append(
          scalar.value >= 0x41 && scalar.value <= 0x5A
            ? Unicode.Scalar(scalar.value | 0x20)! : scalar)
      } else {
        scalars.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
      }
    }
    return String(scalars)
  }

  /// `BertPreTokenizer`: words split at whitespace, each punctuation character a word.
  private func words(_ text: String) -> [[Unicode.Scalar]] {
    var words: [[Unicode.Scalar]] = []
    var current: [Unicode.Scalar] = []
    for scalar in text.unicodeScalars {
      if scalar.properties.isWhitespace {
        if !current.isEmpty { words.append(current) }
        current.removeAll(keepingCapacity: true)
      } else if Self.isPunctuation(scalar) {
        if !current.isEmpty { words.append(current) }
        current.removeAll(keepingCapacity: true)
        words.append([scalar])
      } else {
        current.append(scalar)
      }
    }
    if !current.isEmpty { words.append(current) }
    return words
  }

  /// Greedy longest-match-first pieces of `word`, or the unknown id for the whole word.
  private func spell(_ word: [Unicode.Scalar], into output: inout [Int32]) {
    if word.count > maximumWordLength {
      output.append(unknownID)
      return
    }
    var pieces: [Int32] = []
    var start = 0
    while start < word.count {
      var end = word.count
      var found: Int32?
      while start < end {
        var piece = start > 0 ? continuingPrefix : ""
        piece.unicodeScalars.append(contentsOf: word[start..<end])
        if let id = ids[piece] {
          found = id
          break
        }
        end -= 1
      }
      guard let found else {
        output.append(unknownID)
        return
      }
      pieces.append(found)
      start = end
    }
    output.append(contentsOf: pieces)
  }

  private static func isBertWhitespace(_ scalar: Unicode.Scalar) -> Bool {
    scalar == "\t" || scalar == "\n" || scalar == "\r" || scalar == " "
      || scalar.properties.isWhitespace
  }

  /// Categories C* except tab, newline and carriage return, which count as whitespace.
  private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
    if scalar == "\t" || scalar == "\n" || scalar == "\r" { return false }
    switch scalar.properties.generalCategory {
    case .control, .format, .surrogate, .privateUse, .unassigned: return true
    default: return false
    }
  }

  /// ASCII punctuation (which includes `$+<=>^`|~`) or any Unicode punctuation category.
  private static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
    let value = scalar.value
    if (33...47).contains(value) || (58...64).contains(value) || (91...96).contains(value)
      || (123...126).contains(value)
    {
      return true
    }
    switch scalar.properties.generalCategory {
    case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
      .initialPunctuation, .finalPunctuation, .otherPunctuation:
      return true
    default:
      return false
    }
  }

  /// The CJK Unified Ideographs blocks BERT isolates.
  private static func isCJK(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F,
      0x2B740...0x2B81F, 0x2B820...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
      return true
    default:
      return false
    }
  }
}
