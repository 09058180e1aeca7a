/// Cuts a text into sentences for the encoder measure.
enum Sentences {
  /// The sentences of `text`: cut after `.`, `!` or `?` followed by whitespace, and at blank
  /// lines; runs of whitespace become one space; pieces with fewer than three letters dropped.
  static func split(_ text: String) -> [String] {
    var sentences: [String] = []
    var current = String.UnicodeScalarView()
    var letters = 0
    var pendingSpace = false
    var newlines = 0
    var previous: Unicode.Scalar = " "
    func flush() {
      if letters >= 3 { sentences.append(String(current)) }
      current.removeAll()
      letters = 0
      pendingSpace = false
    }
    for scalar in text.unicodeScalars {
      if scalar.properties.isWhitespace {
        if scalar == "\n" { newlines += 1 }
        if newlines >= 2 || previous == "." || previous == "!" || previous == "?" {
          flush()
        } else if !current.isEmpty {
          pendingSpace = true
        }
        previous = " "
        continue
      }
      newlines = 0
      if pendingSpace {
        current.append(" ")
        pendingSpace = false
      }
      current.append(scalar)
      if scalar.properties.isAlphabetic { letters += 1 }
      previous = scalar
    }
    flush()
    return sentences
  }
}
