import EMoECore

/// A lexical pass over a header that ``EMoECore/JSONValue/parse(_:maximumDepth:)`` has already
/// accepted: finds where each top-level key starts, and rejects the two things that parse lets
/// through but reads differently from the reference's serde_json.
///
/// json-c clamps integers beyond 64 bits to the nearest representable value (serde_json reads
/// them as floats and refuses them as sizes), and cuts object keys at an escaped NUL (so two
/// distinct keys could become one); either would let one header be read two ways.
struct SafeTensorsHeaderScanner {
  /// A problem found, with its offset inside the header text.
  struct Problem: Error {
    var reason: String
    var offset: Int
  }

  /// The offset of each top-level key's opening quote inside the header, by decoded key.
  private(set) var keyOffsets: [String: Int] = [:]

  private enum Container {
    case object(expectingKey: Bool)
    case array
  }

  /// Scans `text`, which must be JSON that json-c accepted.
  init(_ text: UnsafeRawBufferPointer) throws(Problem) {
    var stack: [Container] = []
    var index = 0
    while index < text.count {
      let byte = text[index]
      switch byte {
      case UInt8(ascii: "{"):
        stack.append(.object(expectingKey: true))
      case UInt8(ascii: "["):
        stack.append(.array)
      case UInt8(ascii: "}"), UInt8(ascii: "]"):
        _ = stack.popLast()
      case UInt8(ascii: ","):
        if case .object = stack.last { stack[stack.count - 1] = .object(expectingKey: true) }
      case UInt8(ascii: "\""):
        let end = Self.endOfString(text, from: index)
        if case .object(true) = stack.last {
          let key = try Self.decodeKey(text, from: index, to: end)
          if stack.count == 1 { keyOffsets[key] = index }
          stack[stack.count - 1] = .object(expectingKey: false)
        }
        index = end
        continue
      case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
        index = try Self.checkNumber(text, from: index)
        continue
      default:
        break
      }
      index += 1
    }
  }

  /// The number of members of the top-level object (counted at its `:` separators, strings
  /// skipped), stopping early once it passes `limit`; for text that is not JSON the count is
  /// meaningless but the scan stays linear and safe.
  static func topLevelMemberCount(_ text: UnsafeRawBufferPointer, stoppingAbove limit: Int) -> Int {
    var depth = 0
    var count = 0
    var index = 0
    while index < text.count {
      switch text[index] {
      case UInt8(ascii: "\""):
        index = endOfString(text, from: index)
        continue
      case UInt8(ascii: "{"), UInt8(ascii: "["):
        depth += 1
      case UInt8(ascii: "}"), UInt8(ascii: "]"):
        depth -= 1
      case UInt8(ascii: ":") where depth == 1:
        count += 1
        if count > limit { return count }
      default:
        break
      }
      index += 1
    }
    return count
  }

  /// The index just past the string whose opening quote is at `start`.
  private static func endOfString(_ text: UnsafeRawBufferPointer, from start: Int) -> Int {
    var index = start + 1
    while index < text.count {
      switch text[index] {
      case UInt8(ascii: "\\"): index += 2
      case UInt8(ascii: "\""): return index + 1
      default: index += 1
      }
    }
    return text.count
  }

  /// Decodes the key literal in `start ..< end`, refusing an escaped NUL, which json-c would cut
  /// the key at.
  private static func decodeKey(_ text: UnsafeRawBufferPointer, from start: Int, to end: Int)
    throws(Problem) -> String
  {
    let literal = UnsafeRawBufferPointer(rebasing: text[start..<end])
    guard literal.contains(UInt8(ascii: "\\")) else {
      return String(decoding: literal.dropFirst().dropLast(), as: UTF8.self)
    }
    guard case .string(let key)? = try? JSONValue.parse(literal) else {
      throw Problem(reason: "cannot decode key", offset: start)
    }
    if key.unicodeScalars.contains("\u{0}") {
      throw Problem(reason: "a key contains a NUL character", offset: start)
    }
    return key
  }

  /// Checks the number starting at `start` and returns the index after it: integers must fit in
  /// 64 bits (json-c clamps larger ones silently; serde_json reads them as floats).
  private static func checkNumber(_ text: UnsafeRawBufferPointer, from start: Int) throws(Problem)
    -> Int
  {
    var index = start
    let negative = text[index] == UInt8(ascii: "-")
    if negative { index += 1 }
    var magnitude: UInt64 = 0
    var overflow = false
    while index < text.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(text[index]) {
      let (times10, o1) = magnitude.multipliedReportingOverflow(by: 10)
      let (sum, o2) = times10.addingReportingOverflow(UInt64(text[index] - UInt8(ascii: "0")))
      overflow = overflow || o1 || o2
      magnitude = sum
      index += 1
    }
    var isInteger = true
    while index < text.count, isNumberByte(text[index]) {
      isInteger = false
      index += 1
    }
    if isInteger, overflow || (negative && magnitude > UInt64(Int64.max) + 1) {
      throw Problem(reason: "integer out of the 64-bit range", offset: start)
    }
    return index
  }

  private static func isNumberByte(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "e"),
      UInt8(ascii: "E"), UInt8(ascii: "+"), UInt8(ascii: "-"):
      true
    default: false
    }
  }
}
