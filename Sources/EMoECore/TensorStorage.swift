/// Where a tensor's bytes live: a zero-copy slice of a memory-mapped file, or bytes it owns.
public enum TensorStorage: Sendable {
  /// `count` bytes at `offset` in a mapped file; nothing is read until the bytes are used.
  case mapped(MappedFile, offset: Int, count: Int)
  /// Bytes held in memory.
  case owned([UInt8])

  /// The number of bytes.
  public var byteCount: Int {
    switch self {
    case .mapped(_, _, let count): count
    case .owned(let bytes): bytes.count
    }
  }

  /// Calls `body` with the bytes, without copying mapped storage.
  @inlinable
  public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    switch self {
    case .mapped(let file, let offset, let count):
      return try body(file.bytes(offset: offset, count: count))
    case .owned(let bytes):
      return try bytes.withUnsafeBytes(body)
    }
  }
}
