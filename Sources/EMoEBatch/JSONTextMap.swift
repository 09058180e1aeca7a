/// Where each member and element of a JSON document starts in its text, so an error found in
/// the parsed value can name the manifest line and column it came from.
///
/// `JSONValue` keeps no positions, so this walks the text once more. It expects text that
/// `JSONValue.parse` already accepted, and stops quietly at anything unexpected (a map that
/// lacks a path only costs the message its line number).
struct JSONTextMap: Sendable {
  /// The byte offset of each path.
  ///
  /// For an object member it is the key's opening quote, for an array element the value's first
  /// byte. Paths read `jobs[2].top-k`; the root is `""`.
  private(set) var offsets: [String: Int] = [:]
  private let lineStarts: [Int]
  private let text: [UInt8]

  /// Maps `text`.
  init(_ text: [UInt8]) {
    self.text = text
    var starts = [0]
    for (index, byte) in text.enumerated() where byte == 0x0A { starts.append(index + 1) }
    lineStarts = starts
    var scanner = Scanner(text: text)
    scanner.value(path: "")
    offsets = scanner.offsets
  }

  /// The 1-based line and column (in characters) of byte `offset`.
  func lineAndColumn(of offset: Int) -> (line: Int, column: Int) {
    let clamped = max(0, min(offset, text.count))
    var low = 0
    var high = lineStarts.count - 1
    while low < high {
      let middle = (low + high + 1) / 2
      if lineStarts[middle] <= clamped { low = middle } else { high = middle - 1 }
    }
    let prefix = String(decoding: text[lineStarts[low]..<clamped], as: UTF8.self)
    return (low + 1, prefix.count + 1)
  }

  /// The 1-based line and column (in characters) of byte `offset` of `text`, which need not be
  /// valid JSON (for the parser's own errors).
  static func lineAndColumn(in text: [UInt8], of offset: Int) -> (line: Int, column: Int) {
    let clamped = max(0, min(offset, text.count))
    var line = 1
    var lineStart = 0
    for index in 0..<clamped where text[index] == 0x0A {
      line += 1
      lineStart = index + 1
    }
    return (line, String(decoding: text[lineStart..<clamped], as: UTF8.self).count + 1)
  }

  /// The offset of `path`, or of its nearest mapped ancestor.
  func offset(of path: String) -> Int? {
    var current = path
    while true {
      if let offset = offsets[current] { return offset }
      guard let cut = current.lastIndex(where: { $0 == "." || $0 == "[" }) else { return nil }
      current = String(current[..<cut])
    }
  }

  private struct Scanner {
    let text: [UInt8]
    var index = 0
    var offsets: [String: Int] = [:]

    init(text: [UInt8]) { self.text = text }

    private var current: UInt8? { index < text.count ? text[index] : nil }

    private mutating func skipWhitespace() {
      while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 {
        index += 1
      }
    }

    mutating func value(path: String) {
      skipWhitespace()
      if offsets[path] == nil { offsets[path] = index }
      switch current {
      case UInt8(ascii: "{"): object(path: path)
      case UInt8(ascii: "["): array(path: path)
      case UInt8(ascii: "\""): _ = string()
      case .some: scalar()
      case nil: return
      }
    }

    private mutating func object(path: String) {
      index += 1
      skipWhitespace()
      if current == UInt8(ascii: "}") {
        index += 1
        return
      }
      while index < text.count {
        skipWhitespace()
        let keyOffset = index
        guard current == UInt8(ascii: "\""), let key = string() else { return }
        let memberPath = path.isEmpty ? key : path + "." + key
        offsets[memberPath] = keyOffset
        skipWhitespace()
        guard current == UInt8(ascii: ":") else { return }
        index += 1
        value(path: memberPath)
        skipWhitespace()
        if current == UInt8(ascii: ",") {
          index += 1
          continue
        }
        index += 1
        return
      }
    }

    private mutating func array(path: String) {
      index += 1
      skipWhitespace()
      if current == UInt8(ascii: "]") {
        index += 1
        return
      }
      var element = 0
      while index < text.count {
        value(path: "\(path)[\(element)]")
        element += 1
        skipWhitespace()
        if current == UInt8(ascii: ",") {
          index += 1
          continue
        }
        index += 1
        return
      }
    }

    /// Reads a string at its opening quote; escapes other than `\uXXXX` pairs are decoded, which
    /// is all manifest keys need.
    private mutating func string() -> String? {
      index += 1
      var bytes: [UInt8] = []
      while let byte = current {
        index += 1
        switch byte {
        case UInt8(ascii: "\""):
          return String(decoding: bytes, as: UTF8.self)
        case UInt8(ascii: "\\"):
          guard let escape = current else { return nil }
          index += 1
          switch escape {
          case UInt8(ascii: "n"): bytes.append(0x0A)
          case UInt8(ascii: "t"): bytes.append(0x09)
          case UInt8(ascii: "r"): bytes.append(0x0D)
          case UInt8(ascii: "b"): bytes.append(0x08)
          case UInt8(ascii: "f"): bytes.append(0x0C)
          case UInt8(ascii: "u"):
            let end = min(index + 4, text.count)
            let digits = String(decoding: text[index..<end], as: UTF8.self)
            index = end
            if let code = UInt32(digits, radix: 16), let scalar = Unicode.Scalar(code) {
              bytes.append(contentsOf: Array(String(Character(scalar)).utf8))
            }
          default: bytes.append(escape)
          }
        default:
          bytes.append(byte)
        }
      }
      return nil
    }

    private mutating func scalar() {
      while let byte = current {
        switch byte {
        case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x0A, 0x0D, 0x09:
          return
        default: index += 1
        }
      }
    }
  }
}
