import EMoECore

/// A safetensors header, parsed and validated against the bytes of the whole file.
///
/// Validation follows the Rust reference (`SafeTensors::read_metadata` and `Metadata::validate`)
/// check by check and in its order, so a file is rejected here whenever the reference rejects
/// it, with the same error kind:
///
/// 1. fewer than 8 bytes: ``SafeTensorsError/Kind/headerTooSmall``;
/// 2. a header length above 100,000,000: ``SafeTensorsError/Kind/headerTooLarge``;
/// 3. a header running past the end of the file: ``SafeTensorsError/Kind/invalidHeaderLength``;
/// 4. a header that is not UTF-8: ``SafeTensorsError/Kind/invalidHeader``; then, emoe-pack's own
///    rule, more than ``maximumTensorCount`` entries: ``SafeTensorsError/Kind/tooManyTensors``;
/// 5. not JSON, not an object, or fields of the wrong type:
///    ``SafeTensorsError/Kind/invalidHeaderDeserialization``;
/// 6. tensors, taken in data-offset order, that do not tile the data section from 0 without
///    holes or overlaps (``SafeTensorsError/Kind/invalidOffset``), whose sizes overflow
///    (``SafeTensorsError/Kind/validationOverflow``), whose sub-byte elements do not fill whole
///    bytes (``SafeTensorsError/Kind/misalignedSlice``), or whose byte range does not match their
///    shape and dtype (``SafeTensorsError/Kind/tensorInvalidInfo``);
/// 7. data that does not end exactly at the end of the file:
///    ``SafeTensorsError/Kind/metadataIncompleteBuffer``.
///
/// It is stricter than the reference in a few places, each of which lets two parsers read one
/// header differently: a repeated key anywhere is ``SafeTensorsError/Kind/duplicateKey`` (the
/// reference keeps the last one), and `NaN`/`Infinity`, integers beyond 64 bits and keys with an
/// escaped NUL are refused as invalid JSON. Leading and trailing JSON whitespace is accepted as the
/// reference accepts it.
public struct SafeTensorsHeader: Sendable {
  /// The largest header the reference accepts, in bytes.
  public static let maximumHeaderLength = 100_000_000
  /// The most entries (tensors plus `__metadata__`) a header may hold.
  ///
  /// emoe-pack's own limit, counted by the strict JSON pass before json-c builds anything, so a 100 MB
  /// header of a million empty tensors is refused in milliseconds, and a header at the limit
  /// parses in about a second. Real files hold far fewer: checkpoints of the largest MoE models
  /// are sharded into files of a few thousand tensors each.
  public static let maximumTensorCount = 1 << 17

  /// The header's length in bytes, as the first 8 bytes of the file declare it.
  public let headerLength: Int
  /// The tensors in data-offset order.
  public let entries: [SafeTensorsEntry]
  /// The `__metadata__` pairs in header order (empty when absent or null).
  public let metadata: [(key: String, value: String)]
  /// The file offset of each tensor's header entry (its key's opening quote), by name.
  public let entryOffsets: [String: Int]

  /// The file offset where tensor data begins.
  public var dataStart: Int { 8 + headerLength }

  /// Parses and validates the header of `file`, the complete bytes of the file at `path`.
  ///
  /// - Parameters:
  ///   - file: every byte of the file (a mapping of it).
  ///   - path: the file's name for error messages.
  public init(file: UnsafeRawBufferPointer, path: String) throws(SafeTensorsError) {
    func fail(_ kind: SafeTensorsError.Kind, _ detail: String, offset: Int?) -> SafeTensorsError {
      SafeTensorsError(kind, ErrorLocation(file: path, offset: offset), detail: detail)
    }
    guard file.count >= 8 else {
      throw fail(.headerTooSmall, "the file has \(file.count) bytes, fewer than 8", offset: 0)
    }
    let declared = UInt64(littleEndian: file.loadUnaligned(as: UInt64.self))
    guard declared <= UInt64(Self.maximumHeaderLength) else {
      throw fail(
        .headerTooLarge,
        "the header length is \(declared) bytes, above the \(Self.maximumHeaderLength) limit",
        offset: 0)
    }
    let length = Int(declared)
    guard length <= file.count - 8 else {
      throw fail(
        .invalidHeaderLength,
        "a header of \(length) bytes runs past the end of the file (\(file.count) bytes)",
        offset: 0)
    }
    let text = UnsafeRawBufferPointer(rebasing: file[8..<(8 + length)])
    if let bad = Self.firstInvalidUTF8(text) {
      throw fail(.invalidHeader, "invalid UTF-8 sequence", offset: 8 + bad)
    }

    let document: JSONDocument
    do {
      document = try JSONDocument(parsing: text, maximumRootMembers: Self.maximumTensorCount)
    } catch {
      if error.isMemberLimit {
        throw fail(
          .tooManyTensors,
          "the header holds more than \(Self.maximumTensorCount) entries (emoe-pack's limit)",
          offset: 8)
      }
      if let key = error.duplicateKey {
        throw SafeTensorsError(
          .duplicateKey, ErrorLocation(file: path, key: key, offset: 8 + error.offset),
          detail: "the key '\(key)' appears twice in one object")
      }
      throw fail(.invalidHeaderDeserialization, error.reason, offset: 8 + error.offset)
    }
    let root = document.root
    headerLength = length

    guard case .object(let members) = root else {
      throw fail(
        .invalidHeaderDeserialization, "expected an object, found \(root.typeName)",
        offset: 8 + document.rootOffset)
    }
    let keyOffsets = document.childOffsets.map { 8 + $0 }
    var offsets: [String: Int] = [:]
    offsets.reserveCapacity(members.count)
    for (member, offset) in zip(members, keyOffsets) { offsets[member.key] = offset }
    entryOffsets = offsets
    var metadata: [(key: String, value: String)] = []
    var declaredEntries: [DeclaredEntry] = []
    var seen = Set<String>()
    for (position, member) in members.enumerated() {
      let location = ErrorLocation(file: path, offset: keyOffsets[position])
      guard seen.insert(member.key).inserted else {
        throw SafeTensorsError(
          .duplicateKey, ErrorLocation(file: path, key: member.key, offset: location.offset),
          detail: "the key '\(member.key)' appears twice")
      }
      if member.key == "__metadata__" {
        metadata = try Self.metadataPairs(member.value, location: location)
      } else {
        var tensorLocation = location
        tensorLocation.tensor = member.key
        declaredEntries.append(
          try DeclaredEntry(
            name: member.key, value: member.value, position: position, location: tensorLocation))
      }
    }
    self.metadata = metadata

    declaredEntries.sort { ($0.begin, $0.end, $0.position) < ($1.begin, $1.end, $1.position) }
    var byteCounts: [UInt64] = []
    byteCounts.reserveCapacity(declaredEntries.count)
    var runningEnd: UInt64 = 0
    for entry in declaredEntries {
      byteCounts.append(try entry.validate(startingAt: runningEnd))
      runningEnd = entry.end
    }
    let dataBytes = UInt64(file.count - 8 - length)
    guard runningEnd == dataBytes else {
      let end = UInt64(8 + length).addingReportingOverflow(runningEnd)
      let expected = end.overflow ? "beyond 2^64" : String(end.partialValue)
      let what =
        runningEnd < dataBytes
        ? "\(dataBytes - runningEnd) bytes after the last tensor's data"
        : "\(runningEnd - dataBytes) bytes of tensor data missing"
      throw SafeTensorsError(
        .metadataIncompleteBuffer,
        ErrorLocation(
          file: path, tensor: declaredEntries.last?.name,
          offset: runningEnd < dataBytes ? Int(end.partialValue) : file.count),
        detail: "the tensors end at byte \(expected) but the file has \(file.count) bytes (\(what))"
      )
    }
    // Every offset now lies inside the file, so the conversions below cannot overflow.
    var validated: [SafeTensorsEntry] = []
    validated.reserveCapacity(declaredEntries.count)
    for (entry, byteCount) in zip(declaredEntries, byteCounts) {
      guard let dimensions = entry.intDimensions else {
        throw SafeTensorsError(
          .validationOverflow, entry.location,
          detail: "a dimension of \(entry.dimensions) does not fit in a signed 64-bit integer")
      }
      validated.append(
        SafeTensorsEntry(
          name: entry.name, dtype: entry.dtype, shape: Shape(dimensions),
          fileOffset: 8 + length + Int(entry.begin), byteCount: Int(byteCount)))
    }
    entries = validated
  }

  /// The `__metadata__` object as ordered string pairs; `null` counts as absent.
  private static func metadataPairs(_ value: JSONValue, location: ErrorLocation)
    throws(SafeTensorsError) -> [(key: String, value: String)]
  {
    switch value {
    case .null:
      return []
    case .object(let members):
      var pairs: [(key: String, value: String)] = []
      for member in members {
        guard case .string(let text) = member.value else {
          var keyed = location
          keyed.key = "__metadata__." + member.key
          throw SafeTensorsError(
            .invalidHeaderDeserialization, keyed,
            detail: "metadata values must be strings, found \(member.value.typeName)")
        }
        pairs.append((member.key, text))
      }
      return pairs
    default:
      var keyed = location
      keyed.key = "__metadata__"
      throw SafeTensorsError(
        .invalidHeaderDeserialization, keyed,
        detail: "__metadata__ must be an object of strings, found \(value.typeName)")
    }
  }

  /// The offset of the first byte that does not start a valid UTF-8 sequence (as Rust's
  /// `str::from_utf8` judges: no overlong forms, surrogates or values above U+10FFFF), or `nil`.
  static func firstInvalidUTF8(_ bytes: UnsafeRawBufferPointer) -> Int? {
    var index = 0
    let count = bytes.count
    while index < count {
      let lead = bytes[index]
      if lead < 0x80 {
        index += 1
        continue
      }
      let length: Int
      var secondRange: ClosedRange<UInt8> = 0x80...0xBF
      switch lead {
      case 0xC2...0xDF: length = 2
      case 0xE0:
        length = 3
        secondRange = 0xA0...0xBF
      case 0xE1...0xEC, 0xEE...0xEF: length = 3
      case 0xED:
        length = 3
        secondRange = 0x80...0x9F
      case 0xF0:
        length = 4
        secondRange = 0x90...0xBF
      case 0xF1...0xF3: length = 4
      case 0xF4:
        length = 4
        secondRange = 0x80...0x8F
      default: return index
      }
      guard index + length <= count, secondRange.contains(bytes[index + 1]) else { return index }
      for continuation in 2..<length where !(0x80...0xBF).contains(bytes[index + continuation]) {
        return index
      }
      index += length
    }
    return nil
  }
}

/// A tensor entry as the header declares it, before the offsets are checked.
private struct DeclaredEntry {
  var name: String
  var dtype: DType
  var dimensions: [UInt64]
  var begin: UInt64
  var end: UInt64
  var position: Int
  var location: ErrorLocation

  init(name: String, value: JSONValue, position: Int, location: ErrorLocation)
    throws(SafeTensorsError)
  {
    func fail(_ detail: String) -> SafeTensorsError {
      SafeTensorsError(.invalidHeaderDeserialization, location, detail: detail)
    }
    guard case .object = value else {
      throw fail("a tensor entry must be an object, found \(value.typeName)")
    }
    guard let dtypeValue = value["dtype"] else { throw fail("missing field `dtype`") }
    guard case .string(let dtypeName) = dtypeValue else {
      throw fail("`dtype` must be a string, found \(dtypeValue.typeName)")
    }
    guard let dtype = DType(safeTensorsName: dtypeName) else {
      throw fail("unknown dtype '\(dtypeName)'")
    }
    guard let shapeValue = value["shape"] else { throw fail("missing field `shape`") }
    guard case .array(let shapeElements) = shapeValue else {
      throw fail("`shape` must be an array, found \(shapeValue.typeName)")
    }
    var dimensions: [UInt64] = []
    for element in shapeElements {
      guard let dimension = Self.unsigned(element) else {
        throw fail("`shape` must hold non-negative integers, found \(element.serialized())")
      }
      dimensions.append(dimension)
    }
    guard let offsetsValue = value["data_offsets"] else {
      throw fail("missing field `data_offsets`")
    }
    guard case .array(let offsetElements) = offsetsValue, offsetElements.count == 2,
      let begin = Self.unsigned(offsetElements[0]), let end = Self.unsigned(offsetElements[1])
    else {
      throw fail(
        "`data_offsets` must be two non-negative integers, found \(offsetsValue.serialized())")
    }
    self.name = name
    self.dtype = dtype
    self.dimensions = dimensions
    self.begin = begin
    self.end = end
    self.position = position
    self.location = location
  }

  private static func unsigned(_ value: JSONValue) -> UInt64? {
    switch value {
    case .integer(let number): number >= 0 ? UInt64(number) : nil
    case .unsignedInteger(let number): number
    default: nil
    }
  }

  /// The dimensions as `Int`, or `nil` when one is too large (possible only when another is 0).
  var intDimensions: [Int]? {
    var result: [Int] = []
    for dimension in dimensions {
      guard let value = Int(exactly: dimension) else { return nil }
      result.append(value)
    }
    return result
  }

  /// The reference's per-tensor checks, in its order; returns the byte count.
  func validate(startingAt expectedBegin: UInt64) throws(SafeTensorsError) -> UInt64 {
    guard begin == expectedBegin, end >= begin else {
      let why =
        end < begin
        ? "it ends before it begins"
        : begin < expectedBegin
          ? "it overlaps the previous tensor, which ends at \(expectedBegin)"
          : "it leaves a hole: the previous tensor ends at \(expectedBegin)"
      throw SafeTensorsError(
        .invalidOffset, location, detail: "data_offsets [\(begin), \(end)]: \(why)")
    }
    var elements: UInt64 = 1
    for dimension in dimensions {
      let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
      guard !overflow else {
        throw SafeTensorsError(
          .validationOverflow, location, detail: "the element count of shape \(dimensions)")
      }
      elements = product
    }
    let (bits, overflow) = elements.multipliedReportingOverflow(by: UInt64(dtype.safeTensorsBits))
    guard !overflow else {
      throw SafeTensorsError(
        .validationOverflow, location,
        detail: "the bit size of \(elements) \(dtype.rawValue) elements")
    }
    guard bits % 8 == 0 else {
      throw SafeTensorsError(
        .misalignedSlice, location,
        detail: "\(elements) \(dtype.rawValue) elements take \(bits) bits, not whole bytes")
    }
    guard end - begin == bits / 8 else {
      throw SafeTensorsError(
        .tensorInvalidInfo, location,
        detail:
          "\(dtype.rawValue) \(dimensions) takes \(bits / 8) bytes but data_offsets [\(begin), \(end)] hold \(end - begin)"
      )
    }
    return bits / 8
  }
}
