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

  /// Checks, without decompressing, that `source` is exactly one frame whose header declares
  /// `expectedSize` decompressed bytes, so a caller can allocate that much safely.
  public static func checkFrame(_ source: UnsafeRawBufferPointer, declaring expectedSize: Int)
    throws(ZstdError)
  {
    let declared = ZSTD_getFrameContentSize(source.baseAddress, source.count)
    // ZSTD_CONTENTSIZE_ERROR and ZSTD_CONTENTSIZE_UNKNOWN are the two top values.
    guard declared < UInt64.max - 1 else {
      throw ZstdError(reason: "not a zstd frame with a known size")
    }
    guard declared == UInt64(expectedSize) else {
      throw ZstdError(reason: "frame holds \(declared) bytes, expected \(expectedSize)")
    }
    let frameSize = ZSTD_findFrameCompressedSize(source.baseAddress, source.count)
    guard ZSTD_isError(frameSize) == 0, frameSize == source.count else {
      throw ZstdError(reason: "the stored bytes are not exactly one zstd frame")
    }
  }

  /// The largest window a streamed frame may ask for (2^27 bytes, zstd's default limit): what
  /// ``decompressStreaming(_:expectedSize:chunkSize:_:)`` may allocate besides its chunk.
  public static let maximumStreamingWindowLog: Int32 = 27

  /// Decompresses one frame of exactly `expectedSize` bytes in pieces of at most `chunkSize`
  /// bytes handed to `body`, so checking a tensor needs a chunk, not a buffer of its claimed
  /// size; decompression stops as soon as the output would pass `expectedSize`.
  public static func decompressStreaming(
    _ source: UnsafeRawBufferPointer, expectedSize: Int, chunkSize: Int = 1 << 20,
    _ body: (UnsafeRawBufferPointer) -> Void
  ) throws(ZstdError) {
    try checkFrame(source, declaring: expectedSize)
    guard let context = ZSTD_createDCtx() else { throw ZstdError(reason: "out of memory") }
    defer { ZSTD_freeDCtx(context) }
    ZSTD_DCtx_setParameter(context, ZSTD_d_windowLogMax, maximumStreamingWindowLog)
    var chunk = [UInt8](repeating: 0, count: max(1, chunkSize))
    var input = ZSTD_inBuffer(src: source.baseAddress, size: source.count, pos: 0)
    var total = 0
    while true {
      let (result, produced) = chunk.withUnsafeMutableBytes { target -> (Int, Int) in
        var output = ZSTD_outBuffer(dst: target.baseAddress, size: target.count, pos: 0)
        let result = ZSTD_decompressStream(context, &output, &input)
        return (result, output.pos)
      }
      if ZSTD_isError(result) != 0 {
        throw ZstdError(reason: String(cString: ZSTD_getErrorName(result)))
      }
      total += produced
      guard total <= expectedSize else {
        throw ZstdError(reason: "frame inflates past its declared \(expectedSize) bytes")
      }
      if produced > 0 {
        chunk.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[0..<produced])) }
      }
      if result == 0 { break }
      if produced == 0 && input.pos == input.size {
        throw ZstdError(reason: "the frame ends early")
      }
    }
    guard total == expectedSize else {
      throw ZstdError(reason: "frame decompressed to \(total) bytes, expected \(expectedSize)")
    }
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
