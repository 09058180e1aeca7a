import EMoECore

/// The text an evaluation reads: a UTF-8 file, checked byte by byte.
public enum EvaluationText {
  /// The largest text read (64 MiB): far more than any evaluation needs, and a bound on memory.
  public static let maximumBytes = 64 << 20

  /// The contents of `path`.
  ///
  /// - Throws: ``EvaluationError`` naming the file and the byte offset of the first byte that
  ///   is not UTF-8 (exit 2), or an I/O error (exit 1).
  public static func read(_ path: String) throws(EvaluationError) -> String {
    let file: MappedFile
    do {
      file = try MappedFile(path: path)
    } catch {
      throw EvaluationError(
        "\(error)", location: ErrorLocation(file: path), isIOFailure: !error.isWrongKind)
    }
    guard file.count <= maximumBytes else {
      throw EvaluationError(
        "the text is \(file.count) bytes; at most \(maximumBytes) are read",
        location: ErrorLocation(file: path))
    }
    let bytes = file.bytes
    if let offset = firstInvalidUTF8(bytes) {
      throw EvaluationError(
        "is not UTF-8 text (the tokenizer reads UTF-8)",
        location: ErrorLocation(file: path, offset: offset))
    }
    return String(decoding: bytes, as: UTF8.self)
  }

  /// The offset of the first byte that does not belong to a valid UTF-8 sequence, or `nil`.
  static func firstInvalidUTF8(_ bytes: UnsafeRawBufferPointer) -> Int? {
    var decoder = UTF8()
    var iterator = bytes.makeIterator()
    var offset = 0
    while true {
      switch decoder.decode(&iterator) {
      case .scalarValue(let scalar):
        offset += UTF8.width(scalar)
      case .emptyInput:
        return nil
      case .error:
        return offset
      }
    }
  }
}
