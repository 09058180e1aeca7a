import EMoECore
import EMoEFormats
import EMoENumerics

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

  /// The four MoE tensors of a converted layer at k = E, with expert j holding source neurons
  /// `j · n/E ..< (j + 1) · n/E`.
  func sourceOrderExperts(
    _ record: ContainerLayerRecord, _ layout: Layout, _ reader: StoredTensors
  ) throws(ConversionError) -> [Output] {
    let e = layout.experts
    let d = record.hiddenSize
    let n = record.intermediateSize
    let size = n / e
    let block = "blk.\(record.layer)."
    let scale = Float(layout.used)
    let downType = try resolvedDownType(layout)
    let position = try sourcePositions(record)
    var outputs = [
      Output(
        plan: .init(name: block + "ffn_gate_inp.weight", dtype: .f32, shape: [e, d]),
        bytes: { () throws(ConversionError) in [UInt8](repeating: 0, count: e * d * 4) })
    ]
    for (role, suffix) in [(ContainerLayerRecord.Role.wg, "ffn_gate_exps"), (.wu, "ffn_up_exps")] {
      guard let name = record.tensors[role] else { continue }
      let encoding = rowsEncoding(try reader.entry(name))
      outputs.append(
        Output(
          plan: .init(
            name: block + suffix + ".weight", dtype: encoding.dtype, shape: [e, size, d]),
          bytes: { () throws(ConversionError) in
            // Rows are whole blocks along d: reorder the encoded rows themselves.
            let stored = try rowsBytes(name, encoding, reader)
            guard stored.count % n == 0 else {
              throw .invalidInput(
                "\(ErrorLocation(file: container.path, tensor: name)): \(stored.count) bytes do "
                  + "not hold \(n) rows")
            }
            return Self.rows(stored, rowBytes: stored.count / n, taking: position)
          }))
    }
    if let name = record.tensors[.wd] {
      outputs.append(
        Output(
          plan: .init(name: block + "ffn_down_exps.weight", dtype: downType, shape: [e, d, size]),
          bytes: { () throws(ConversionError) in
            // Stored neuron-major [n, d] in the clusters' order; written [E, d, n/E].
            let values = try reader.floats(name)
            guard values.count == n * d else {
              throw .invalidInput(
                "\(ErrorLocation(file: container.path, tensor: name)): holds \(values.count) "
                  + "values, expected \(n) × \(d)")
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
            return try encodeDown(
              MatrixBytes.bytes(result), as: downType, tensor: block + "ffn_down_exps.weight")
          }))
    }
    return outputs.sorted { $0.plan.name < $1.plan.name }
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
