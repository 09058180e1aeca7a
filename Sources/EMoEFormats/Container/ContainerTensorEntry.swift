import EMoECore

/// One row of a container's tensor table: the declaration plus where and how its bytes lie.
public struct ContainerTensorEntry: Sendable, Equatable {
  /// What is stored.
  public var declaration: ContainerTensorDeclaration
  /// The absolute file offset of the stored bytes (a multiple of 64).
  public var offset: Int
  /// The number of bytes in the file (the zstd frame's size when compressed).
  public var storedLength: Int
  /// The number of bytes once decompressed (equal to ``storedLength`` when not compressed).
  public var rawLength: Int
  /// XXH64 (seed 0) of the stored bytes.
  public var checksum: UInt64
  /// XXH64 (seed 0) of the decompressed bytes, for compressed tensors.
  public var rawChecksum: UInt64?

  /// Creates an entry.
  public init(
    declaration: ContainerTensorDeclaration, offset: Int, storedLength: Int, rawLength: Int,
    checksum: UInt64, rawChecksum: UInt64?
  ) {
    self.declaration = declaration
    self.offset = offset
    self.storedLength = storedLength
    self.rawLength = rawLength
    self.checksum = checksum
    self.rawChecksum = rawChecksum
  }

  /// The tensor's name.
  public var name: String { declaration.name }
  /// The stored element type.
  public var dtype: DType { declaration.dtype }
  /// The stored shape.
  public var shape: Shape { declaration.shape }
  /// Whether the bytes are a zstd frame.
  public var isCompressed: Bool { declaration.compression != .none }
  /// One past the last stored byte.
  public var end: Int { offset + storedLength }
}
