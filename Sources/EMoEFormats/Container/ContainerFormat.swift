/// The fixed facts of `.emoe` format version 1 (Formats/EMoE.md is the specification).
public enum ContainerFormat {
  /// The first 8 bytes of every container: ASCII `EMOEPACK`.
  public static let magic: [UInt8] = Array("EMOEPACK".utf8)
  /// The format version this code reads and writes.
  public static let version: UInt32 = 1
  /// The size of the fixed binary header; the manifest starts right after it.
  public static let headerSize = 64
  /// The alignment of the data section and of every tensor's bytes.
  public static let alignment = 64
  /// The byte range of the header checksum field, read as zeros when the checksum is computed.
  public static let checksumFieldRange = 48..<56
  /// The largest manifest a reader accepts (1 GiB).
  public static let maximumManifestLength = 1 << 30
  /// The checksum algorithm named in the manifest.
  public static let checksumAlgorithm = "xxh64"
  /// The most JSON values a manifest may hold (8 Mi): room for GGUF metadata at its 4 Mi array
  /// element limit, counted before any is built.
  public static let maximumManifestValues = 8 << 20
  /// The deepest JSON nesting accepted in a manifest (a `config.json` can nest a few levels).
  public static let maximumManifestDepth: Int32 = 64

  /// The most bytes one stored byte of a zstd frame can decompress to: zstd's best case is a
  /// run of RLE blocks, 4 bytes (a 3-byte block header and the byte) for each 128 KiB block.
  ///
  /// A compressed tensor claiming more than `stored_length` times this is refused when the
  /// file is opened, before anything is allocated for it (Formats/EMoE.md, "Limits").
  public static let maximumCompressionRatio = 32_768

  /// The largest `raw_length` a zstd frame of `storedLength` bytes can hold.
  public static func maximumRawLength(storedLength: Int) -> Int {
    let (product, overflow) = storedLength.multipliedReportingOverflow(
      by: maximumCompressionRatio)
    return overflow ? Int.max : product
  }

  /// Features a file may list in `required_features`, all implemented by this reader.
  public enum Feature: String, CaseIterable, Sendable {
    /// Some tensor is stored as a zstd frame.
    case zstd
    /// Some tensor is stored as int8 rows with a per-row F32 scale tensor.
    case int8Rows = "int8_rows"
  }

  /// `value` rounded up to a multiple of ``alignment``, or `nil` on overflow.
  public static func aligned(_ value: Int) -> Int? {
    let (sum, overflow) = value.addingReportingOverflow(alignment - 1)
    guard !overflow, value >= 0 else { return nil }
    return sum / alignment * alignment
  }
}
