import CZstd

/// A zstd failure, with the library's own message.
public struct ZstdError: Error, Sendable, Equatable, CustomStringConvertible {
  /// zstd's description of the failure.
  public var reason: String
  /// A readable message.
  public var description: String { "zstd: \(reason)" }
}

/// The one Swift wrapper over libzstd: whole-buffer compression and decompression.
public enum Zstd {
  /// The library's version, such as `1.5.4`.
  public static var version: String { String(cString: ZSTD_versionString()) }

  /// The compression levels the library accepts.
  public static var levels: ClosedRange<Int> {
    Int(ZSTD_minCLevel())...Int(ZSTD_maxCLevel())
  }

  /// The default level used when `--compress` is given without one.
  public static let defaultLevel = 3

  /// Compresses `source` at `level` into one frame that records its content size.
  public static func compress(_ source: UnsafeRawBufferPointer, level: Int) throws(ZstdError)
    -> [UInt8]
  {
    let capacity = ZSTD_compressBound(source.count)
    var output = [UInt8](repeating: 0, count: capacity)
    let written = output.withUnsafeMutableBytes { out in
      ZSTD_compress(out.baseAddress, capacity, source.baseAddress, source.count, Int32(level))
    }
    if ZSTD_isError(written) != 0 {
      throw ZstdError(reason: String(cString: ZSTD_getErrorName(written)))
    }
    output.removeSubrange(written...)
    return output
  }

  /// The decompressed size that the frame at the start of `source` declares, or `nil` when
  /// its header is invalid or does not record the size.
  ///
  /// Reads only the frame header, so a caller can check a size claimed elsewhere against the
  /// frame before allocating anything.
  public static func declaredContentSize(_ source: UnsafeRawBufferPointer) -> UInt64? {
    let declared = ZSTD_getFrameContentSize(source.baseAddress, source.count)
    // ZSTD_CONTENTSIZE_ERROR and ZSTD_CONTENTSIZE_UNKNOWN are the two top values.
    return declared < UInt64.max - 1 ? declared : nil
  }

  /// Decompresses one frame into exactly `expectedSize` bytes at `destination`.
  ///
  /// - Throws: ``ZstdError`` when the frame is corrupt or does not hold exactly that many bytes.
  public static func decompress(
    _ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer
  ) throws(ZstdError) {
    let declared = ZSTD_getFrameContentSize(source.baseAddress, source.count)
    // ZSTD_CONTENTSIZE_ERROR and ZSTD_CONTENTSIZE_UNKNOWN are the two top values.
    guard declared < UInt64.max - 1 else {
      throw ZstdError(reason: "not a zstd frame with a known size")
    }
    guard declared == UInt64(destination.count) else {
      throw ZstdError(reason: "frame holds \(declared) bytes, expected \(destination.count)")
    }
    let written = ZSTD_decompress(
      destination.baseAddress, destination.count, source.baseAddress, source.count)
    if ZSTD_isError(written) != 0 {
      throw ZstdError(reason: String(cString: ZSTD_getErrorName(written)))
    }
    guard written == destination.count else {
      throw ZstdError(
        reason: "frame decompressed to \(written) bytes, expected \(destination.count)")
    }
  }
}
