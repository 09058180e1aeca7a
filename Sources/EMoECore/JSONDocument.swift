/// A parsed JSON document: its value, and where each member and element starts in the text.
///
/// One strict pass (``JSONStrictValidator``) checks the grammar and records the positions; json-c
/// builds the value. Readers use the positions to name the byte offset, line and column of the
/// key or value a problem is found in, so no reader scans the text again.
public struct JSONDocument: Sendable {
  /// The document's value.
  public let root: JSONValue
  /// The byte offset of every value in pre-order: the key's opening quote for an object member,
  /// the value's first byte otherwise.
  private let offsets: [Int]
  /// For every value, the pre-order index of its next sibling.
  private let ends: [Int]
  /// The byte offset of every line's first byte.
  private let lineStarts: [Int]
  /// The text, when the caller handed it over as an array (to count columns in characters).
  private let text: [UInt8]?

  /// Parses `text`; see ``JSONValue/parse(_:maximumDepth:maximumValues:)`` for the rules.
  ///
  /// - Parameter maximumRootMembers: the most members the root object may have, checked as the
  ///   pass reaches them (the error has ``JSONParseError/isMemberLimit`` set).
  public init(
    parsing text: UnsafeRawBufferPointer, maximumDepth: Int32 = 64,
    maximumValues: Int = JSONValue.defaultMaximumValues, maximumRootMembers: Int = .max
  ) throws(JSONParseError) {
    try self.init(
      text, keeping: nil, maximumDepth: maximumDepth, maximumValues: maximumValues,
      maximumRootMembers: maximumRootMembers)
  }

  /// Parses `text` and keeps it, so ``lineAndColumn(of:)`` counts columns in characters.
  public init(parsing text: [UInt8], maximumValues: Int = JSONValue.defaultMaximumValues)
    throws(JSONParseError)
  {
    let result = text.withUnsafeBytes { raw in
      Result { () throws(JSONParseError) in
        try JSONDocument(
          raw, keeping: text, maximumDepth: 64, maximumValues: maximumValues,
          maximumRootMembers: .max)
      }
    }
    self = try result.get()
  }

  private init(
    _ raw: UnsafeRawBufferPointer, keeping text: [UInt8]?, maximumDepth: Int32,
    maximumValues: Int, maximumRootMembers: Int
  ) throws(JSONParseError) {
    let positions = try JSONStrictValidator.validate(
      raw, maximumDepth: Int(maximumDepth) - 1, maximumValues: maximumValues,
      maximumRootMembers: maximumRootMembers, recordsPositions: true)
    root = try JSONValue.build(raw, maximumDepth: maximumDepth)
    offsets = positions.offsets
    ends = positions.ends
    lineStarts = positions.lineStarts
    self.text = text
  }

  /// The offset of the root value's first byte.
  public var rootOffset: Int { offsets.first ?? 0 }

  /// The offsets of the root's members (their keys' opening quotes) or elements, in order.
  public var childOffsets: [Int] {
    var result: [Int] = []
    var child = 1
    while child < ends.first ?? 0 {
      result.append(offsets[child])
      child = ends[child]
    }
    return result
  }

  /// The offset of the value at `keyPath` (`jobs[2].top-k`: members joined by `.`, elements as
  /// `[i]`, the root as `""`), or of its nearest ancestor that exists.
  ///
  /// A member's offset is its key's opening quote; an element's is its first byte. A key that
  /// itself holds `.` or `[` is matched as a whole (the longest key that fits wins).
  public func offset(ofKeyPath keyPath: String) -> Int? {
    guard !offsets.isEmpty else { return nil }
    var node = 0
    var value = root
    var rest = Substring(keyPath)
    while !rest.isEmpty {
      switch value {
      case .object(let members):
        if node != 0 {
          guard rest.first == "." else { return offsets[node] }
          rest = rest.dropFirst()
        }
        var best: (position: Int, length: Int)?
        for (position, member) in members.enumerated() where rest.hasPrefix(member.key) {
          let after = rest.dropFirst(member.key.count)
          guard after.isEmpty || after.first == "." || after.first == "[" else { continue }
          if member.key.count >= best?.length ?? 0 { best = (position, member.key.count) }
        }
        guard let best else { return offsets[node] }
        node = child(best.position, of: node)
        value = members[best.position].value
        rest = rest.dropFirst(best.length)
      case .array(let elements):
        guard rest.first == "[", let close = rest.firstIndex(of: "]"),
          let position = Int(rest[rest.index(after: rest.startIndex)..<close]),
          elements.indices.contains(position)
        else { return offsets[node] }
        node = child(position, of: node)
        value = elements[position]
        rest = rest[rest.index(after: close)...]
      default:
        return offsets[node]
      }
    }
    return offsets[node]
  }

  /// The pre-order index of child `position` of the value at pre-order index `node`.
  private func child(_ position: Int, of node: Int) -> Int {
    var index = node + 1
    for _ in 0..<position { index = ends[index] }
    return index
  }

  /// The 1-based line and column of byte `offset`; columns count characters when the document
  /// kept its text, bytes otherwise.
  public func lineAndColumn(of offset: Int) -> (line: Int, column: Int) {
    var low = 0
    var high = lineStarts.count - 1
    while low < high {
      let middle = (low + high + 1) / 2
      if lineStarts[middle] <= offset { low = middle } else { high = middle - 1 }
    }
    let start = lineStarts[low]
    guard let text else { return (low + 1, max(0, offset - start) + 1) }
    let end = max(start, min(offset, text.count))
    return (low + 1, String(decoding: text[start..<end], as: UTF8.self).count + 1)
  }

  /// The 1-based line and column (in characters) of byte `offset` of `text`, which need not be
  /// valid JSON (for a parse error's offset).
  public static func lineAndColumn(in text: [UInt8], of offset: Int) -> (line: Int, column: Int) {
    let clamped = max(0, min(offset, text.count))
    var line = 1
    var lineStart = 0
    for index in 0..<clamped where text[index] == 0x0A {
      line += 1
      lineStart = index + 1
    }
    return (line, String(decoding: text[lineStart..<clamped], as: UTF8.self).count + 1)
  }
}
