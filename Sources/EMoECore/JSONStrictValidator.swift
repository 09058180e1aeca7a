/// The one pass over JSON text: checks it against the RFC 8259 grammar, rejects keys repeated
/// inside one object, and records where every value is.
///
/// json-c's strict mode still accepts single-quoted strings, `NaN` and `Infinity`, `1.`, raw
/// control characters in strings and lone surrogate escapes, all of which the reference readers
/// (serde_json, Python's json) reject or read differently. json-c also keeps the last of two
/// equal keys silently, clamps integers beyond 64 bits and cuts keys at an escaped NUL. Running
/// this pass first means every header is read the same way by every parser; json-c then builds
/// the values, and ``JSONDocument`` joins them with the positions recorded here.
struct JSONStrictValidator {
  /// What the pass found besides the text being valid.
  struct Positions {
    /// The byte offset of every value, in document (pre-)order: the key's opening quote for an
    /// object member, the value's first byte otherwise.
    var offsets: [Int] = []
    /// For every value, the pre-order index just past its subtree (its next sibling's index).
    var ends: [Int] = []
    /// The byte offset of every line's first byte; line 1 starts at 0.
    var lineStarts: [Int] = [0]
  }

  private let text: UnsafeRawBufferPointer
  private let maximumDepth: Int
  private let maximumValues: Int
  private let maximumRootMembers: Int
  private let recordsPositions: Bool
  private var positions = Positions()
  private var values = 0
  private var index = 0
  /// The offset to record for the next value: its key's quote when it is an object member.
  private var pendingKeyOffset: Int?

  /// Validates `text`, throwing a ``JSONParseError`` with the offset of the first problem; more
  /// than `maximumValues` values (counted before json-c builds any) is such a problem, as is a
  /// root object of more than `maximumRootMembers` members (``JSONParseError/isMemberLimit``).
  ///
  /// - Returns: the positions of every value when `recordsPositions` is set (else empty tables).
  @discardableResult
  static func validate(
    _ text: UnsafeRawBufferPointer, maximumDepth: Int, maximumValues: Int = .max,
    maximumRootMembers: Int = .max, recordsPositions: Bool = false
  ) throws(JSONParseError) -> Positions {
    var validator = JSONStrictValidator(
      text: text, maximumDepth: maximumDepth, maximumValues: maximumValues,
      maximumRootMembers: maximumRootMembers, recordsPositions: recordsPositions)
    validator.skipWhitespace()
    try validator.value(depth: 0)
    validator.skipWhitespace()
    if validator.index < text.count {
      throw JSONParseError(reason: "unexpected data after the JSON value", offset: validator.index)
    }
    return validator.positions
  }

  private init(
    text: UnsafeRawBufferPointer, maximumDepth: Int, maximumValues: Int, maximumRootMembers: Int,
    recordsPositions: Bool
  ) {
    self.text = text
    self.maximumDepth = maximumDepth
    self.maximumValues = maximumValues
    self.maximumRootMembers = maximumRootMembers
    self.recordsPositions = recordsPositions
  }

  private var current: UInt8? { index < text.count ? text[index] : nil }

  private func fail(_ reason: String) -> JSONParseError {
    JSONParseError(reason: current == nil ? "unexpected end of text" : reason, offset: index)
  }

  private mutating func skipWhitespace() {
    // Raw line feeds cannot occur inside strings, so every line starts after whitespace.
    while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 {
      index += 1
      if byte == 0x0A, recordsPositions { positions.lineStarts.append(index) }
    }
  }

  private mutating func value(depth: Int) throws(JSONParseError) {
    guard depth < maximumDepth else { throw fail("nesting deeper than \(maximumDepth)") }
    values += 1
    guard values <= maximumValues else {
      throw fail("more than \(maximumValues) values (the limit for this document)")
    }
    guard let byte = current else { throw fail("expected a JSON value") }
    let node = positions.offsets.count
    if recordsPositions {
      positions.offsets.append(pendingKeyOffset ?? index)
      positions.ends.append(0)
      pendingKeyOffset = nil
    }
    defer { if recordsPositions { positions.ends[node] = positions.offsets.count } }
    switch byte {
    case UInt8(ascii: "{"): try object(depth: depth)
    case UInt8(ascii: "["): try array(depth: depth)
    case UInt8(ascii: "\""): _ = try string(decoding: false)
    case UInt8(ascii: "t"): try literal("true")
    case UInt8(ascii: "f"): try literal("false")
    case UInt8(ascii: "n"): try literal("null")
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
    default: throw fail("expected a JSON value")
    }
  }

  private mutating func object(depth: Int) throws(JSONParseError) {
    let isRoot = depth == 0
    var members = 0
    index += 1
    var keys = Set<String>()
    skipWhitespace()
    if current == UInt8(ascii: "}") {
      index += 1
      return
    }
    while true {
      skipWhitespace()
      guard current == UInt8(ascii: "\"") else { throw fail("expected a string key") }
      let start = index
      let key = try string()
      // json-c stores keys as C strings, so a key with NUL would silently lose its tail.
      guard !key.unicodeScalars.contains("\u{0}") else {
        throw JSONParseError(reason: "key contains a NUL character", offset: start)
      }
      guard keys.insert(key).inserted else {
        throw JSONParseError(reason: "duplicate key", offset: start, duplicateKey: key)
      }
      members += 1
      if isRoot, members > maximumRootMembers {
        var error = JSONParseError(
          reason: "more than \(maximumRootMembers) members in the root object", offset: start)
        error.isMemberLimit = true
        throw error
      }
      skipWhitespace()
      guard current == UInt8(ascii: ":") else { throw fail("expected ':'") }
      index += 1
      skipWhitespace()
      pendingKeyOffset = start
      try value(depth: depth + 1)
      skipWhitespace()
      if current == UInt8(ascii: ",") {
        index += 1
        continue
      }
      guard current == UInt8(ascii: "}") else { throw fail("expected ',' or '}'") }
      index += 1
      return
    }
  }

  private mutating func array(depth: Int) throws(JSONParseError) {
    index += 1
    skipWhitespace()
    if current == UInt8(ascii: "]") {
      index += 1
      return
    }
    while true {
      skipWhitespace()
      try value(depth: depth + 1)
      skipWhitespace()
      if current == UInt8(ascii: ",") {
        index += 1
        continue
      }
      guard current == UInt8(ascii: "]") else { throw fail("expected ',' or ']'") }
      index += 1
      return
    }
  }

  private mutating func literal(_ word: StaticString) throws(JSONParseError) {
    let bytes = UnsafeRawBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
    for byte in bytes {
      guard current == byte else { throw fail("invalid literal") }
      index += 1
    }
  }

  private mutating func digits() -> Int {
    let start = index
    while let byte = current, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { index += 1 }
    return index - start
  }

  private mutating func number() throws(JSONParseError) {
    let start = index
    if current == UInt8(ascii: "-") { index += 1 }
    var integerDigits = 1
    if current == UInt8(ascii: "0") {
      index += 1
    } else {
      integerDigits = digits()
      guard integerDigits > 0 else { throw fail("invalid number") }
    }
    var isInteger = true
    var hasExponent = false
    if current == UInt8(ascii: ".") {
      isInteger = false
      index += 1
      guard digits() > 0 else { throw fail("expected digits after '.'") }
    }
    if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
      isInteger = false
      hasExponent = true
      index += 1
      if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
      guard digits() > 0 else { throw fail("expected exponent digits") }
    }
    // Up to 18 digits always fit in 64 bits, and only an exponent or some 309 digits can make a
    // number overflow a double: only longer or exponent forms need reading.
    guard isInteger ? integerDigits > 18 : hasExponent || integerDigits > 300 else { return }
    let literal = String(
      decoding: UnsafeRawBufferPointer(rebasing: text[start..<index]), as: UTF8.self)
    // json-c clamps integers outside 64 bits to the nearest representable value; refuse them.
    if isInteger, Int64(literal) == nil, UInt64(literal) == nil {
      throw JSONParseError(reason: "integer out of the 64-bit range", offset: start)
    }
    if let value = Double(literal), !value.isFinite {
      throw JSONParseError(reason: "number out of range", offset: start)
    }
  }

  /// Reads a string at the opening quote and returns its decoded value.
  private mutating func string(decoding: Bool = true) throws(JSONParseError) -> String {
    index += 1
    // Most strings hold no escape: take their bytes as they are.
    var end = index
    while end < text.count, text[end] != UInt8(ascii: "\""), text[end] != UInt8(ascii: "\\"),
      text[end] >= 0x20
    {
      end += 1
    }
    if end < text.count, text[end] == UInt8(ascii: "\"") {
      let bytes = UnsafeRawBufferPointer(rebasing: text[index..<end])
      index = end + 1
      return decoding ? String(decoding: bytes, as: UTF8.self) : ""
    }
    var scalars = String.UnicodeScalarView()
    var pending: [UInt8] = []
    func flush() {
      if !pending.isEmpty {
        scalars.append(contentsOf: String(decoding: pending, as: UTF8.self).unicodeScalars)
        pending.removeAll(keepingCapacity: true)
      }
    }
    while true {
      guard let byte = current else { throw fail("unterminated string") }
      switch byte {
      case UInt8(ascii: "\""):
        index += 1
        flush()
        return String(scalars)
      case 0..<0x20:
        throw fail("control character in string")
      case UInt8(ascii: "\\"):
        index += 1
        guard let escape = current else { throw fail("unterminated string") }
        index += 1
        switch escape {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): pending.append(escape)
        case UInt8(ascii: "b"): pending.append(0x08)
        case UInt8(ascii: "f"): pending.append(0x0C)
        case UInt8(ascii: "n"): pending.append(0x0A)
        case UInt8(ascii: "r"): pending.append(0x0D)
        case UInt8(ascii: "t"): pending.append(0x09)
        case UInt8(ascii: "u"):
          flush()
          scalars.append(try unicodeEscape())
        default:
          index -= 1
          throw fail("invalid escape")
        }
      default:
        pending.append(byte)
        index += 1
      }
    }
  }

  private mutating func hex4() throws(JSONParseError) -> UInt32 {
    var value: UInt32 = 0
    for _ in 0..<4 {
      guard let byte = current else { throw fail("unterminated escape") }
      let digit: UInt32
      switch byte {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
      case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
      case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
      default: throw fail("invalid \\u escape")
      }
      value = value << 4 | digit
      index += 1
    }
    return value
  }

  private mutating func unicodeEscape() throws(JSONParseError) -> Unicode.Scalar {
    let start = index - 2
    let high = try hex4()
    if (0xDC00..<0xE000).contains(high) {
      throw JSONParseError(reason: "lone surrogate escape", offset: start)
    }
    guard (0xD800..<0xDC00).contains(high) else { return Unicode.Scalar(high)! }
    guard current == UInt8(ascii: "\\"), index + 1 < text.count,
      text[index + 1] == UInt8(ascii: "u")
    else { throw JSONParseError(reason: "lone surrogate escape", offset: start) }
    index += 2
    let low = try hex4()
    guard (0xDC00..<0xE000).contains(low) else {
      throw JSONParseError(reason: "lone surrogate escape", offset: start)
    }
    return Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))!
  }
}
