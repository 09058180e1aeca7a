import EMoECore
import EMoEFormats
import EMoEModel
import EMoENumerics

/// Reads a layer's keys (the rows of W1, Wg or Wu) as F32 `[n, d]` whatever their storage, and
/// scans them for NaN and infinity without decoding when they are plain floats.
enum KeyReader {
  /// The keys of `ffn` as `[n, d]` F32, dequantising GGUF blocks when needed.
  ///
  /// - Throws: ``EMoEModel/ModelError`` naming the layer and tensor when the tensor cannot be
  ///   decoded or a key holds NaN or infinity.
  static func keys(of ffn: LayerFFN, choice: LayerFFN.KeyMatrix) throws(ModelError) -> [Float] {
    let role = ffn.keyRole(choice)
    let tensor = try ffn.tensor(role)
    guard tensor.dtype.isQuantized else { return try ffn.keys(choice) }
    let location = ErrorLocation(file: ffn.source.path, tensor: tensor.name)
    guard Dequantizer.supports(tensor.dtype) else {
      throw .quantizedInputUnsupported(dtype: tensor.dtype, location: location)
    }
    var values: [Float]
    do {
      values = try Dequantizer.floats(of: tensor)
    } catch {
      throw .unreadableTensor(reason: "\(error)", location: location)
    }
    let n = ffn.intermediateSize
    let d = ffn.hiddenSize
    if ffn.transposed {
      values = transposed(values, rows: d, columns: n)
    }
    if let row = firstNonFiniteRow(values, rows: n, columns: d) {
      throw .nonFinite(layer: ffn.layer, row: row, location: location)
    }
    return values
  }

  /// The first key (neuron) of `ffn`'s key matrix that holds NaN or infinity, or `nil`.
  ///
  /// Plain floats are checked on their bit patterns straight from the mapping; block-quantised
  /// tensors are decoded a few rows at a time. The tensor's pages are released afterwards.
  static func firstNonFiniteKey(of ffn: LayerFFN, choice: LayerFFN.KeyMatrix)
    throws(ModelError) -> Int?
  {
    let tensor = try ffn.tensor(ffn.keyRole(choice))
    let location = ErrorLocation(file: ffn.source.path, tensor: tensor.name)
    defer { release(tensor) }
    let n = ffn.intermediateSize
    let d = ffn.hiddenSize
    // Stored rows are keys, or (Conv1D storage) stored columns are.
    let storedRows = ffn.transposed ? d : n
    let storedColumns = ffn.transposed ? n : d
    guard let expected = tensor.dtype.byteCount(elementCount: n * d), tensor.byteCount == expected
    else {
      throw .unreadableTensor(
        reason:
          "holds \(tensor.byteCount) bytes, not what \(tensor.dtype.rawValue) \(tensor.shape) needs",
        location: location)
    }
    var firstBad: Int?
    func note(storedRow: Int, storedColumn: Int) {
      let key = ffn.transposed ? storedColumn : storedRow
      if firstBad == nil || key < firstBad! { firstBad = key }
    }
    switch tensor.dtype {
    case .f32, .f16, .bf16, .f64:
      tensor.withUnsafeBytes { raw in
        scanBits(raw, dtype: tensor.dtype, columns: storedColumns) { row, column in
          note(storedRow: row, storedColumn: column)
        }
      }
    default:
      guard Dequantizer.supports(tensor.dtype) else {
        throw .quantizedInputUnsupported(dtype: tensor.dtype, location: location)
      }
      let chunk = max(1, (1 << 20) / max(1, storedColumns))
      var buffer = [Float](repeating: 0, count: chunk * storedColumns)
      var start = 0
      while start < storedRows {
        let count = min(chunk, storedRows - start)
        let outcome = buffer.withUnsafeMutableBufferPointer { output in
          Result { () throws(DequantizationError) in
            try Dequantizer.decodeRows(
              of: tensor, rows: start..<(start + count),
              into: UnsafeMutableBufferPointer(rebasing: output[0..<(count * storedColumns)]))
          }
        }
        if case .failure(let error) = outcome {
          throw .unreadableTensor(reason: "\(error)", location: location)
        }
        for index in 0..<(count * storedColumns) where !buffer[index].isFinite {
          note(storedRow: start + index / storedColumns, storedColumn: index % storedColumns)
        }
        start += count
      }
    }
    return firstBad
  }

  /// Calls `bad` with the row and column of every non-finite element of a plain float matrix.
  private static func scanBits(
    _ raw: UnsafeRawBufferPointer, dtype: DType, columns: Int, _ bad: (Int, Int) -> Void
  ) {
    guard let base = raw.baseAddress, columns > 0 else { return }
    switch dtype {
    case .f32:
      let count = raw.count / 4
      for index in 0..<count {
        let bits = base.loadUnaligned(fromByteOffset: index &* 4, as: UInt32.self)
        if bits & 0x7F80_0000 == 0x7F80_0000 { bad(index / columns, index % columns) }
      }
    case .f16, .bf16:
      let mask: UInt16 = dtype == .f16 ? 0x7C00 : 0x7F80
      let count = raw.count / 2
      for index in 0..<count {
        let bits = base.loadUnaligned(fromByteOffset: index &* 2, as: UInt16.self)
        if bits & mask == mask { bad(index / columns, index % columns) }
      }
    case .f64:
      let count = raw.count / 8
      for index in 0..<count {
        let bits = base.loadUnaligned(fromByteOffset: index &* 8, as: UInt64.self)
        if bits & 0x7FF0_0000_0000_0000 == 0x7FF0_0000_0000_0000 {
          bad(index / columns, index % columns)
        }
      }
    default:
      return
    }
  }

  /// The first row of a row-major `rows × columns` matrix holding NaN or infinity.
  static func firstNonFiniteRow(_ values: [Float], rows: Int, columns: Int) -> Int? {
    values.withUnsafeBufferPointer { buffer in
      for row in 0..<rows {
        for column in 0..<columns where !buffer[row * columns + column].isFinite { return row }
      }
      return nil
    }
  }

  /// `values` (`rows × columns`) transposed.
  static func transposed(_ values: [Float], rows: Int, columns: Int) -> [Float] {
    var result = [Float](repeating: 0, count: values.count)
    values.withUnsafeBytes { source in
      result.withUnsafeMutableBytes { target in
        NeuronMajorLayout.transposeColumns(
          source, rows: rows, elementBytes: 4, permutation: Array(0..<columns), into: target)
      }
    }
    return result
  }

  /// Refuses a tensor that holds NaN or infinity.
  ///
  /// The error names its file, the tensor, the first such element and its byte offset: a
  /// converter must never store one (verify and run refuse them). Block-quantised types without
  /// a decoder cannot be checked and pass.
  ///
  /// - Parameters:
  ///   - file: the input as the user named it, for tensors not mapped from a file.
  ///   - layer: the converted layer the tensor belongs to, `nil` for a passthrough tensor.
  static func checkFinite(_ tensor: Tensor, file: String, layer: Int?) throws(ConversionError) {
    guard !tensor.dtype.isQuantized || Dequantizer.supports(tensor.dtype) else { return }
    let found: NonFiniteValue?
    do {
      found = try NonFiniteValue.first(in: tensor)
    } catch {
      throw .model(
        .unreadableTensor(
          reason: "\(error)", location: ErrorLocation(file: file, tensor: tensor.name)))
    }
    if let found { throw .model(.nonFiniteValue(found, file: file, layer: layer)) }
  }

  /// Lets the kernel drop the pages of a mapped tensor that was read once.
  static func release(_ tensor: Tensor) {
    if case .mapped(let file, let offset, let count) = tensor.storage {
      file.adviseDone(offset: offset, count: count)
    }
  }
}
