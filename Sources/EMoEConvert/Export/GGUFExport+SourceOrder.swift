import EMoECore
import EMoEFormats

extension GGUFExport {
  /// Whether the experts are written in the source's neuron order (k = E) rather than the
  /// clusters' order.
  ///
  /// At k = E the router is zero and every expert is used with the same weight, so the output
  /// does not depend on which neurons form an expert. Splitting the source's FFN into E blocks
  /// of consecutive neurons then keeps every ggml block of the source where it was: gate and up
  /// rows move as they are, and `ffn_down_exps`'s blocks along n/E are the source's own blocks
  /// along n (when n/E is a multiple of the block size), so llama.cpp computes the dense model's
  /// arithmetic (including its quantisation of activations) at the source's size. A layer with
  /// a shared block keeps the clusters' order: its shared neurons are not a consecutive range.
  func writesSourceOrder(_ layout: Layout) -> Bool {
    layout.used == layout.experts && layout.converted.values.allSatisfy { $0.sharedCount == 0 }
  }

  /// Gate or up rows (`stored`, n rows in the clusters' order) in source neuron order.
  ///
  /// Rows are whole blocks along d, so the encoded rows themselves move.
  func sourceOrderRows(_ stored: [UInt8], _ position: [Int], tensor: String)
    throws(ConversionError) -> [UInt8]
  {
    let n = position.count
    guard n > 0, stored.count % n == 0 else {
      throw .invalidInput(
        "\(ErrorLocation(file: container.path, tensor: tensor)): \(stored.count) bytes do not "
          + "hold \(n) rows")
    }
    return Self.rows(stored, rowBytes: stored.count / n, taking: position)
  }

  /// F32 bytes of `ffn_down_exps` `[E, d, n/E]` in source neuron order, times `scale`, from
  /// down stored neuron-major `[n, d]` in the clusters' order: expert j holds source neurons
  /// `j · n/E ..< (j + 1) · n/E`.
  func sourceOrderDown(
    _ values: [Float], _ position: [Int], experts e: Int, columns d: Int, scale: Float,
    tensor: String
  ) throws(ConversionError) -> [UInt8] {
    let n = position.count
    let size = n / max(1, e)
    guard values.count == n * d, size * e == n else {
      throw .invalidInput(
        "\(ErrorLocation(file: container.path, tensor: tensor)): holds \(values.count) values, "
          + "expected \(n) × \(d) in \(e) experts")
    }
    var result = [Float](repeating: 0, count: values.count)
    values.withUnsafeBufferPointer { source in
      result.withUnsafeMutableBufferPointer { target in
        for expert in 0..<e {
          for column in 0..<size {
            let stored = position[expert * size + column] * d
            for row in 0..<d {
              target[(expert * d + row) * size + column] = source[stored + row] * scale
            }
          }
        }
      }
    }
    return MatrixBytes.bytes(result)
  }

  /// `position[i]`: the stored position of source neuron `i` (the inverse of σ).
  func sourcePositions(_ record: ContainerLayerRecord) throws(ConversionError) -> [Int] {
    let n = record.intermediateSize
    let location = ErrorLocation(file: container.path, tensor: record.tensors[.permutation] ?? "")
    let found: Tensor?
    do {
      found = try container.tensor(.permutation, of: record)
    } catch {
      throw .invalidInput("\(location): cannot be read: \(error)")
    }
    guard let tensor = found else {
      throw .invalidInput("\(container.path): layer \(record.layer) stores no permutation")
    }
    let width = tensor.dtype == .i32 ? 4 : tensor.dtype == .i64 ? 8 : 0
    guard width > 0, tensor.shape.dimensions == [n], tensor.byteCount == n * width else {
      throw .invalidInput(
        "\(location): is \(tensor.dtype.rawValue) \(tensor.shape); expected I32 or I64 [\(n)]")
    }
    var position = [Int](repeating: -1, count: n)
    var failure: String?
    tensor.withUnsafeBytes { raw in
      for stored in 0..<n {
        let neuron =
          width == 4
          ? Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: stored * 4, as: Int32.self)))
          : Int(
            truncatingIfNeeded: Int64(
              littleEndian: raw.loadUnaligned(fromByteOffset: stored * 8, as: Int64.self)))
        guard (0..<n).contains(neuron), position[neuron] < 0 else {
          failure = "position \(stored) holds neuron \(neuron): not a permutation of 0..<\(n)"
          return
        }
        position[neuron] = stored
      }
    }
    if let failure { throw .invalidInput("\(location): \(failure)") }
    return position
  }

  /// The rows of `bytes` (each `rowBytes` wide) in the order `taking` lists them.
  static func rows(_ bytes: [UInt8], rowBytes: Int, taking order: [Int]) -> [UInt8] {
    var result = [UInt8](repeating: 0, count: order.count * rowBytes)
    bytes.withUnsafeBytes { source in
      result.withUnsafeMutableBytes { target in
        for (index, row) in order.enumerated() {
          target.baseAddress!.advanced(by: index * rowBytes).copyMemory(
            from: source.baseAddress!.advanced(by: row * rowBytes), byteCount: rowBytes)
        }
      }
    }
    return result
  }
}
