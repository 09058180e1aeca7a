import EMoECore
import EMoENumerics

extension LayerFFN {
  /// Decodes any stored tensor to F32 values in stored order through
  /// ``EMoENumerics/Dequantizer/floats(of:)`` (plain floats exactly, GGUF block types bit-exact
  /// with gguf-py), with the model's errors for types it cannot decode.
  static func decode(_ tensor: Tensor, location: ErrorLocation) throws(ModelError) -> [Float] {
    guard let needed = tensor.dtype.byteCount(elementCount: tensor.elementCount),
      tensor.byteCount >= needed
    else {
      throw .unreadableTensor(
        reason: "holds \(tensor.byteCount) bytes, fewer than its shape \(tensor.shape) needs",
        location: location)
    }
    if tensor.dtype.isQuantized {
      guard Dequantizer.supports(tensor.dtype) else {
        throw .quantizedInputUnsupported(dtype: tensor.dtype, location: location)
      }
    } else if !tensor.dtype.isFloatingPoint {
      throw .unsupportedDType(dtype: tensor.dtype, location: location)
    }
    do {
      return try Dequantizer.floats(of: tensor)
    } catch {
      throw .unreadableTensor(reason: "\(error)", location: location)
    }
  }

  /// `values` (`rows × columns`, row-major) transposed, in cache-sized tiles.
  static func transposed(_ values: [Float], rows: Int, columns: Int) -> [Float] {
    var result = [Float](repeating: 0, count: values.count)
    let tile = 32
    values.withUnsafeBufferPointer { source in
      result.withUnsafeMutableBufferPointer { target in
        for rowStart in stride(from: 0, to: rows, by: tile) {
          let rowEnd = min(rowStart + tile, rows)
          for columnStart in stride(from: 0, to: columns, by: tile) {
            let columnEnd = min(columnStart + tile, columns)
            for row in rowStart..<rowEnd {
              for column in columnStart..<columnEnd {
                target[column * rows + row] = source[row * columns + column]
              }
            }
          }
        }
      }
    }
    return result
  }
}
