extension StringProtocol {
  /// The text without leading and trailing spaces and tabs.
  var trimmedSpaces: String {
    var slice = Substring(self)
    while let first = slice.first, first == " " || first == "\t" { slice.removeFirst() }
    while let last = slice.last, last == " " || last == "\t" { slice.removeLast() }
    return String(slice)
  }

  /// The parts around each occurrence of `separator` (a template has few of them).
  func parts(separatedBy separator: String) -> [String] {
    var result: [String] = []
    var rest = Substring(self)
    while let range = rest.range(of: separator) {
      result.append(String(rest[..<range.lowerBound]))
      rest = rest[range.upperBound...]
    }
    result.append(String(rest))
    return result
  }
}

extension Substring {
  /// The range of the first occurrence of `needle`, or `nil`.
  func range(of needle: String) -> Range<Index>? {
    guard !needle.isEmpty else { return nil }
    var start = startIndex
    while start < endIndex {
      if self[start...].hasPrefix(needle) {
        return start..<index(start, offsetBy: needle.count)
      }
      start = index(after: start)
    }
    return nil
  }
}
