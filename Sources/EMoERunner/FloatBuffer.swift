/// A fixed-size, 64-byte-aligned F32 scratch buffer, freed when released.
///
/// The runners keep their working matrices in these rather than in arrays so that BLAS calls
/// and parallel loops can use plain pointers without exclusivity checks or nested closures.
final class FloatBuffer: @unchecked Sendable {
  /// The first value.
  let pointer: UnsafeMutablePointer<Float>
  /// The number of values.
  let count: Int

  /// Allocates `count` values, set to zero.
  init(count: Int) {
    self.count = count
    let raw = UnsafeMutableRawPointer.allocate(
      byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: 64)
    pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
    pointer.initialize(repeating: 0, count: max(count, 1))
  }

  /// Allocates a copy of `values`.
  convenience init(_ values: [Float]) {
    self.init(count: values.count)
    values.withUnsafeBufferPointer { source in
      if let base = source.baseAddress { pointer.update(from: base, count: values.count) }
    }
  }

  deinit { pointer.deallocate() }

  /// The values as an array.
  var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
}
