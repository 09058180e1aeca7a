/// Constants of the GGUF format and the limits emoe-pack enforces when reading and writing it.
///
/// The limits follow ggml's `gguf.cpp` reader, so a file emoe-pack accepts is one llama.cpp
/// accepts: names shorter than `GGML_MAX_NAME`, at most `GGML_MAX_DIMS` dimensions, and ggml's
/// current caps on string lengths, array lengths and the alignment.
public enum GGUFFormat {
  /// The file's first four bytes, `GGUF`.
  public static let magic: [UInt8] = [0x47, 0x47, 0x55, 0x46]
  /// The version the writer produces.
  public static let writtenVersion: UInt32 = 3
  /// The versions the reader accepts (v1 used 32-bit counts and is obsolete).
  public static let readableVersions: ClosedRange<UInt32> = 2...3
  /// The alignment of tensor data when `general.alignment` is absent.
  public static let defaultAlignment = 32
  /// The largest `general.alignment` ggml accepts (1 MiB).
  public static let maxAlignment = 1 << 20
  /// The metadata key that sets the alignment (type u32).
  public static let alignmentKey = "general.alignment"
  /// The longest tensor name in bytes (ggml's `GGML_MAX_NAME` is 64 including the NUL).
  public static let maxTensorNameBytes = 63
  /// The most dimensions a tensor may have (`GGML_MAX_DIMS`).
  public static let maxDimensions = 4
  /// The longest metadata key in bytes (the GGUF specification's limit).
  public static let maxKeyBytes = 65_535
  /// The longest string value ggml reads (`GGUF_MAX_STRING_LENGTH`, 64 MiB).
  public static let maxStringBytes = 64 << 20
  /// The most elements of a metadata array ggml reads (`GGUF_MAX_ARRAY_ELEMENTS`).
  public static let maxArrayElements = 64 << 20
  /// The most array elements all metadata may hold together (emoe-pack's own limit, 4 Mi).
  ///
  /// Every decoded element is a ``GGUFValue`` of 24 bytes (plus its text when a string is
  /// longer than 15 bytes), and the converter copies the metadata into the container's
  /// manifest, so this bounds the memory a file's metadata can claim whatever its size: a file
  /// at the limit converts in a few hundred megabytes. Real vocabularies stay far below it (a
  /// 256 K-token vocabulary with scores, types and merges holds about 1.3 M elements).
  public static let maxTotalArrayElements = 4 << 20

  /// `offset` rounded up to a multiple of `alignment`, or `nil` on overflow.
  static func align(_ offset: Int, to alignment: Int) -> Int? {
    let remainder = offset % alignment
    if remainder == 0 { return offset }
    let (result, overflow) = offset.addingReportingOverflow(alignment - remainder)
    return overflow ? nil : result
  }
}
