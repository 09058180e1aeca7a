import EMoECore

extension Dequantizer {
  /// Copies F32 values bit for bit (NaN payloads included).
  static func copyF32(
    _ source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>
  ) {
    UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: count * 4)
  }

  /// Widens F16 values exactly, as numpy's `astype(np.float32)` does.
  static func widenF16(
    _ source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>
  ) {
    HalfPrecision.widenF16(source, into: destination, count: count)
  }

  /// Widens BF16 values exactly: the 16 bits become the top half of an F32.
  static func widenBF16(
    _ source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>
  ) {
    HalfPrecision.widenBF16(source, into: destination, count: count)
  }
}
