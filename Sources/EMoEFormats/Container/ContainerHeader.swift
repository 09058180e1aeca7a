import EMoECore

/// The fixed 64-byte binary header at the start of every `.emoe` file (all integers
/// little-endian).
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 8 | magic `EMOEPACK` |
/// | 8 | 4 | format version (1) |
/// | 12 | 4 | header size (64) |
/// | 16 | 8 | manifest offset (64) |
/// | 24 | 8 | manifest length: the JSON plus its space padding |
/// | 32 | 8 | data offset = manifest offset + manifest length, a multiple of 64 |
/// | 40 | 8 | file size |
/// | 48 | 8 | XXH64 of bytes `[0, data offset)` with this field read as zeros |
/// | 56 | 8 | reserved, zero |
public struct ContainerHeader: Sendable, Equatable {
  /// The format version.
  public var version: UInt32
  /// The size of the header (64).
  public var headerSize: Int
  /// Where the manifest starts (64).
  public var manifestOffset: Int
  /// The manifest's length including its space padding.
  public var manifestLength: Int
  /// Where the data section starts.
  public var dataOffset: Int
  /// The file's total size.
  public var fileSize: Int
  /// XXH64 of the header and manifest (see the table above).
  public var checksum: UInt64

  /// Creates a header.
  public init(
    version: UInt32 = ContainerFormat.version, headerSize: Int = ContainerFormat.headerSize,
    manifestOffset: Int = ContainerFormat.headerSize, manifestLength: Int, dataOffset: Int,
    fileSize: Int, checksum: UInt64
  ) {
    self.version = version
    self.headerSize = headerSize
    self.manifestOffset = manifestOffset
    self.manifestLength = manifestLength
    self.dataOffset = dataOffset
    self.fileSize = fileSize
    self.checksum = checksum
  }

  /// The header's 64 bytes.
  public func encoded() -> [UInt8] {
    var bytes = ContainerFormat.magic
    func append<T: FixedWidthInteger>(_ value: T) {
      withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
    append(version)
    append(UInt32(headerSize))
    append(UInt64(manifestOffset))
    append(UInt64(manifestLength))
    append(UInt64(dataOffset))
    append(UInt64(fileSize))
    append(checksum)
    append(UInt64(0))
    return bytes
  }

  /// The checksum of `[0, dataOffset)` given the header bytes and the manifest region, with the
  /// checksum field read as zeros.
  public static func checksum(
    header: UnsafeRawBufferPointer, manifestRegion: UnsafeRawBufferPointer
  ) -> UInt64 {
    var hasher = XXH64()
    hasher.update(
      UnsafeRawBufferPointer(rebasing: header[0..<ContainerFormat.checksumFieldRange.lowerBound]))
    hasher.update([UInt8](repeating: 0, count: ContainerFormat.checksumFieldRange.count))
    hasher.update(
      UnsafeRawBufferPointer(rebasing: header[ContainerFormat.checksumFieldRange.upperBound...]))
    hasher.update(manifestRegion)
    return hasher.finalize()
  }

  /// Reads and checks the header of `bytes` (the whole mapped file): magic first, then version,
  /// then every field against the others and the file's real size.
  ///
  /// The checksum is read but not verified here (``ContainerFile`` does that next).
  public static func decode(_ bytes: UnsafeRawBufferPointer, file: String) throws(ContainerError)
    -> ContainerHeader
  {
    let magic = ContainerFormat.magic
    let prefix = min(bytes.count, magic.count)
    guard Array(bytes[0..<prefix]) == Array(magic[0..<prefix]) else {
      throw ContainerError(
        .notAContainer, ErrorLocation(file: file, offset: 0),
        "not an .emoe container (the first 8 bytes are not EMOEPACK)")
    }
    guard bytes.count >= 12 else {
      throw ContainerError(
        .truncated, ErrorLocation(file: file, offset: bytes.count),
        "truncated: the file ends inside the header (\(bytes.count) bytes)")
    }
    func u32(_ offset: Int) -> UInt32 {
      UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
    func u64(_ offset: Int) -> UInt64 {
      UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
    let version = u32(8)
    guard version == ContainerFormat.version else {
      throw ContainerError(
        .unsupportedVersion(version), ErrorLocation(file: file, offset: 8),
        "unsupported .emoe format version \(version) (this emoe-pack reads version "
          + "\(ContainerFormat.version))")
    }
    guard bytes.count >= ContainerFormat.headerSize else {
      throw ContainerError(
        .truncated, ErrorLocation(file: file, offset: bytes.count),
        "truncated: the file ends inside the header (\(bytes.count) bytes)")
    }
    func invalid(_ offset: Int, _ detail: String) -> ContainerError {
      ContainerError(.invalidHeader, ErrorLocation(file: file, offset: offset), detail)
    }
    let headerSize = u32(12)
    guard headerSize == UInt32(ContainerFormat.headerSize) else {
      throw invalid(12, "header size is \(headerSize), expected \(ContainerFormat.headerSize)")
    }
    let manifestOffset = u64(16)
    guard manifestOffset == UInt64(ContainerFormat.headerSize) else {
      throw invalid(
        16, "manifest offset is \(manifestOffset), expected \(ContainerFormat.headerSize)")
    }
    let manifestLength = u64(24)
    guard manifestLength >= 2, manifestLength <= UInt64(ContainerFormat.maximumManifestLength)
    else {
      throw invalid(24, "manifest length \(manifestLength) is out of range")
    }
    let dataOffset = u64(32)
    guard dataOffset == manifestOffset + manifestLength else {
      throw invalid(
        32,
        "data offset \(dataOffset) is not manifest offset + manifest length "
          + "(\(manifestOffset + manifestLength))")
    }
    guard dataOffset % UInt64(ContainerFormat.alignment) == 0 else {
      throw invalid(
        32, "data offset \(dataOffset) is not a multiple of \(ContainerFormat.alignment)")
    }
    let fileSize = u64(40)
    guard fileSize >= dataOffset, fileSize <= UInt64(Int.max) else {
      throw invalid(40, "file size \(fileSize) is smaller than the data offset \(dataOffset)")
    }
    guard UInt64(bytes.count) >= fileSize else {
      throw ContainerError(
        .truncated, ErrorLocation(file: file, offset: bytes.count),
        "truncated: the header says \(fileSize) bytes but the file has \(bytes.count)")
    }
    guard UInt64(bytes.count) == fileSize else {
      throw invalid(
        40, "the file has \(bytes.count) bytes but its header says \(fileSize) (trailing data)")
    }
    let reserved = u64(56)
    guard reserved == 0 else { throw invalid(56, "reserved header bytes are not zero") }
    return ContainerHeader(
      version: version, headerSize: Int(headerSize), manifestOffset: Int(manifestOffset),
      manifestLength: Int(manifestLength), dataOffset: Int(dataOffset), fileSize: Int(fileSize),
      checksum: u64(48))
  }
}
