import EMoECore
import EMoEFormats
import EMoENumerics

/// Reads a container's stored tensors for export: raw bytes when they can move as they are,
/// F32 values otherwise (dequantising int8 rows and ggml blocks).
struct StoredTensors {
  let container: ContainerFile

  /// The stored tensor named `name`.
  func tensor(_ name: String) throws(ConversionError) -> Tensor {
    do {
      return try container.storedTensor(named: name)
    } catch {
      throw .container(error)
    }
  }

  /// The table row of `name`.
  func entry(_ name: String) throws(ConversionError) -> ContainerTensorEntry {
    guard let entry = container.entry(named: name) else {
      throw .container(
        ContainerError(
          .tensorNotFound, ErrorLocation(file: container.path, tensor: name),
          "no tensor of that name is stored"))
    }
    return entry
  }

  /// Whether `name` is stored as plain bytes of a dtype safetensors can hold.
  func isPlainSafeTensorsType(_ name: String) throws(ConversionError) -> Bool {
    let entry = try entry(name)
    return entry.declaration.encoding == .plain && entry.dtype.safeTensorsRank != nil
  }

  /// The values of `name` as F32 in stored order.
  func floats(_ name: String) throws(ConversionError) -> [Float] {
    let entry = try entry(name)
    let stored = try tensor(name)
    let location = ErrorLocation(file: container.path, tensor: name)
    if case .int8Rows(let scalesName) = entry.declaration.encoding {
      let scales = try floats(scalesName)
      let columns = entry.shape.dimensions.last ?? 0
      guard scales.count * columns == stored.byteCount else {
        throw .invalidInput("\(location): int8 rows do not match their \(scales.count) scales")
      }
      let codes = stored.withUnsafeBytes { Array($0.bindMemory(to: Int8.self)) }
      return Int8RowQuantizer.dequantize(codes, scales: scales, columns: columns)
    }
    do {
      return try Dequantizer.floats(of: stored)
    } catch {
      throw .invalidInput("\(location): cannot be read as F32: \(error)")
    }
  }

  /// The raw bytes of `name` (decompressed when needed).
  func bytes(_ name: String) throws(ConversionError) -> [UInt8] {
    let stored = try tensor(name)
    return stored.withUnsafeBytes { Array($0) }
  }
}

/// Matrix helpers shared by the exporters.
enum MatrixBytes {
  /// A row-major `rows × columns` matrix of `elementBytes`-wide elements, transposed.
  static func transposed(
    _ bytes: UnsafeRawBufferPointer, rows: Int, columns: Int, elementBytes: Int
  )
    -> [UInt8]
  {
    var result = [UInt8](repeating: 0, count: bytes.count)
    result.withUnsafeMutableBytes { target in
      NeuronMajorLayout.transposeColumns(
        bytes, rows: rows, elementBytes: elementBytes, permutation: Array(0..<columns),
        into: target)
    }
    return result
  }

  /// Expert by expert, the transpose of each block of rows of a neuron-major `[n, d]` matrix:
  /// `[E, d, size]` from `[n, d]`, for equal expert sizes.
  static func transposedBlocks(
    _ bytes: UnsafeRawBufferPointer, experts: Int, size: Int, columns: Int, elementBytes: Int
  ) -> [UInt8] {
    var result = [UInt8](repeating: 0, count: bytes.count)
    let blockBytes = size * columns * elementBytes
    result.withUnsafeMutableBytes { target in
      for expert in 0..<experts {
        let range = (expert * blockBytes)..<((expert + 1) * blockBytes)
        NeuronMajorLayout.transposeColumns(
          UnsafeRawBufferPointer(rebasing: bytes[range]), rows: size, elementBytes: elementBytes,
          permutation: Array(0..<columns),
          into: UnsafeMutableRawBufferPointer(rebasing: target[range]))
      }
    }
    return result
  }

  /// The bytes of `values`.
  static func bytes<T: BitwiseCopyable>(_ values: [T]) -> [UInt8] {
    values.withUnsafeBytes { Array($0) }
  }
}
