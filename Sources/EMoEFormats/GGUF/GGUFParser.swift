import EMoECore

/// A bounds-checked little-endian cursor over a GGUF file's bytes.
///
/// Every read checks the bytes remaining first, and every length field is checked against the
/// bytes remaining before anything is allocated for it, so no file can make the reader trap or
/// allocate more than the file holds.
struct GGUFParser {
  let bytes: UnsafeRawBufferPointer
  let path: String
  private(set) var position = 0
  /// Array elements the metadata may still hold (see ``GGUFFormat/maxTotalArrayElements``).
  var arrayElementBudget = GGUFFormat.maxTotalArrayElements

  init(bytes: UnsafeRawBufferPointer, path: String) {
    self.bytes = bytes
    self.path = path
  }

  /// Bytes left after the cursor.
  var remaining: Int { bytes.count - position }

  /// An error at `offset` (the cursor by default) about `tensor` or `key`.
  func error(
    _ kind: GGUFError.Kind, _ message: String, tensor: String? = nil, key: String? = nil,
    at offset: Int? = nil
  ) -> GGUFError {
    GGUFError(
      kind, ErrorLocation(file: path, tensor: tensor, key: key, offset: offset ?? position),
      message)
  }

  /// Moves the cursor to `offset`, which must lie inside the file.
  mutating func seek(to offset: Int) {
    precondition(offset >= 0 && offset <= bytes.count)
    position = offset
  }

  private mutating func need(_ count: Int, _ what: String, tensor: String?, key: String?)
    throws(GGUFError)
  {
    guard count <= remaining else {
      throw error(
        .truncated,
        "the file ends inside \(what) (\(count) bytes needed, \(remaining) left)",
        tensor: tensor, key: key)
    }
  }

  /// Reads a fixed-size little-endian integer or float.
  mutating func read<T: FixedWidthInteger>(
    _ type: T.Type, _ what: String, tensor: String? = nil, key: String? = nil
  ) throws(GGUFError) -> T {
    try need(MemoryLayout<T>.size, what, tensor: tensor, key: key)
    let value = T(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: T.self))
    position += MemoryLayout<T>.size
    return value
  }

  /// Reads a u64 length or count that must fit in a signed 64-bit integer.
  mutating func readCount(_ what: String, tensor: String? = nil, key: String? = nil)
    throws(GGUFError) -> Int
  {
    let start = position
    let raw = try read(UInt64.self, what, tensor: tensor, key: key)
    guard raw <= UInt64(Int64.max) else {
      throw error(
        .countTooLarge, "\(what) \(raw) is negative as a signed 64-bit count", tensor: tensor,
        key: key, at: start)
    }
    return Int(raw)
  }

  /// Reads a `gguf_string`: a u64 byte length and that many UTF-8 bytes.
  mutating func readString(
    _ what: String, maxBytes: Int = GGUFFormat.maxStringBytes, tensor: String? = nil,
    key: String? = nil
  ) throws(GGUFError) -> String {
    let start = position
    let raw = try read(UInt64.self, "the length of \(what)", tensor: tensor, key: key)
    guard raw <= UInt64(maxBytes) else {
      throw error(
        .stringTooLong, "\(what) claims \(raw) bytes; at most \(maxBytes) are allowed",
        tensor: tensor, key: key, at: start)
    }
    let length = Int(raw)
    guard length <= remaining else {
      throw error(
        .truncated, "\(what) of \(length) bytes runs past the end of the file (\(remaining) left)",
        tensor: tensor, key: key, at: start)
    }
    let slice = UnsafeRawBufferPointer(rebasing: bytes[position..<(position + length)])
    guard let string = String(validating: slice, as: UTF8.self) else {
      throw error(
        .invalidUTF8, "\(what) is not valid UTF-8", tensor: tensor, key: key, at: start)
    }
    position += length
    return string
  }
}
