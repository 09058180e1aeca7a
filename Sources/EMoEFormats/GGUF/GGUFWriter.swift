import EMoECore

/// Writes a GGUF version 3 file atomically and in a stream: the header with every key-value
/// pair and tensor info first, then each tensor's data in info order, so peak memory is about
/// one tensor (or one chunk of one).
///
/// Output is deterministic: metadata in the given order with its exact types, tensor data packed
/// in info order, and zero padding to the alignment after every tensor including the last.
/// `general.alignment` in the metadata (a u32 power of two up to 1 MiB) sets the alignment;
/// otherwise it is 32. Nothing appears at the destination until ``finish()`` succeeds.
public final class GGUFWriter {
  /// A tensor to be written: its name, element type and row-major shape.
  public struct TensorPlan: Sendable, Hashable {
    /// The tensor's name (1–63 bytes, no NUL).
    public var name: String
    /// The element type; it must have a ggml type number.
    public var dtype: DType
    /// The dimensions, outermost first (written reversed, as GGUF's `ne`).
    public var shape: Shape

    /// Creates a plan.
    public init(name: String, dtype: DType, shape: Shape) {
      self.name = name
      self.dtype = dtype
      self.shape = shape
    }
  }

  /// The path the file appears at.
  public let destination: String
  /// The alignment of tensor data.
  public let alignment: Int
  /// Every tensor with the offsets it is written at.
  public let tensors: [GGUFTensorInfo]

  private let output: AtomicFileWriter
  private var current = 0
  private var writtenOfCurrent = 0

  /// Validates the metadata and tensor plans, then writes the header, metadata, tensor infos and
  /// the padding before the data section.
  ///
  /// - Throws: ``GGUFError`` for metadata or plans a GGUF reader would reject (duplicate or
  ///   empty keys, nested or mixed arrays, a bad alignment, bad names, shapes or types);
  ///   `FileError` when the temporary file cannot be created or written.
  public init(
    destination: String, metadata: [(key: String, value: GGUFValue)], tensors plans: [TensorPlan]
  ) throws {
    self.destination = destination
    let alignment = try GGUFWriter.checkMetadata(metadata, destination: destination)
    self.alignment = alignment

    var header: [UInt8] = GGUFFormat.magic
    GGUFValue.append(GGUFFormat.writtenVersion, to: &header)
    GGUFValue.append(UInt64(plans.count), to: &header)
    GGUFValue.append(UInt64(metadata.count), to: &header)
    for (key, value) in metadata {
      GGUFValue.appendString(key, to: &header)
      value.encode(into: &header)
    }
    var infos: [GGUFTensorInfo] = []
    var names = Set<String>()
    var offset = 0
    for plan in plans {
      let (type, dimensions, byteCount) = try GGUFWriter.check(plan, destination: destination)
      guard names.insert(plan.name).inserted else {
        throw GGUFError(
          .duplicateTensorName, ErrorLocation(file: destination, tensor: plan.name),
          "two tensors have this name")
      }
      GGUFValue.appendString(plan.name, to: &header)
      GGUFValue.append(UInt32(dimensions.count), to: &header)
      for dimension in dimensions { GGUFValue.append(UInt64(dimension), to: &header) }
      GGUFValue.append(type.rawValue, to: &header)
      GGUFValue.append(UInt64(offset), to: &header)
      infos.append(
        GGUFTensorInfo(
          name: plan.name, type: type, dtype: plan.dtype, dimensions: dimensions, offset: offset,
          fileOffset: 0, byteCount: byteCount))
      guard let padded = GGUFFormat.align(byteCount, to: alignment),
        case (let next, false) = offset.addingReportingOverflow(padded)
      else {
        throw GGUFError(
          .elementCountOverflow, ErrorLocation(file: destination, tensor: plan.name),
          "the data section's size overflows")
      }
      offset = next
    }
    let dataOffset = GGUFFormat.align(header.count, to: alignment) ?? header.count
    header += [UInt8](repeating: 0, count: dataOffset - header.count)
    self.tensors = infos.map { info in
      var placed = info
      placed.fileOffset = dataOffset + info.offset
      return placed
    }

    output = try AtomicFileWriter(destination: destination)
    try output.write(header)
  }

  /// Removes the temporary file if the write was not finished.
  deinit { output.abort() }

  /// The plan of the tensor whose data is expected next, or `nil` when all are written.
  public var nextTensor: GGUFTensorInfo? { current < tensors.count ? tensors[current] : nil }

  /// Appends data bytes of the next tensor.
  ///
  /// A tensor's data may come in several chunks; once its byte count is reached, its padding is
  /// written and the following tensor is next (a tensor without data is completed by appending
  /// an empty chunk).
  ///
  /// - Throws: ``GGUFError`` of kind ``GGUFError/Kind/writeMismatch`` when the chunk is longer
  ///   than what the current tensor still needs or all tensors are written; `FileError` on I/O.
  public func append(_ bytes: UnsafeRawBufferPointer) throws {
    guard current < tensors.count else {
      throw GGUFError(
        .writeMismatch, ErrorLocation(file: destination),
        "\(bytes.count) more data bytes after every tensor was written")
    }
    let info = tensors[current]
    guard bytes.count <= info.byteCount - writtenOfCurrent else {
      throw GGUFError(
        .writeMismatch, ErrorLocation(file: destination, tensor: info.name),
        "a chunk of \(bytes.count) bytes overruns the tensor's \(info.byteCount) bytes "
          + "(\(writtenOfCurrent) written)")
    }
    try output.write(bytes)
    writtenOfCurrent += bytes.count
    if writtenOfCurrent == info.byteCount { try finishCurrent() }
  }

  /// Writes `tensor`'s data, which must be the next planned tensor with the same name, type and
  /// shape.
  ///
  /// - Throws: ``GGUFError`` of kind ``GGUFError/Kind/writeMismatch`` when it is not the next
  ///   planned tensor or its byte count differs; `FileError` on I/O.
  public func write(_ tensor: Tensor) throws {
    guard let info = nextTensor, writtenOfCurrent == 0, info.name == tensor.name,
      info.dtype == tensor.dtype, info.shape == tensor.shape,
      info.byteCount == tensor.byteCount
    else {
      let expected = nextTensor.map { "'\($0.name)' \($0.dtype.rawValue) \($0.shape)" } ?? "none"
      throw GGUFError(
        .writeMismatch, ErrorLocation(file: destination, tensor: tensor.name),
        "got \(tensor.dtype.rawValue) \(tensor.shape) of \(tensor.byteCount) bytes; the next "
          + "planned tensor is \(expected)")
    }
    try tensor.withUnsafeBytes { try append($0) }
  }

  /// Checks that every tensor was written, then fsyncs and renames the file into place.
  ///
  /// - Throws: ``GGUFError`` of kind ``GGUFError/Kind/writeMismatch`` when tensor data is
  ///   missing; `FileError` on I/O.
  public func finish() throws {
    if let info = nextTensor {
      throw GGUFError(
        .writeMismatch, ErrorLocation(file: destination, tensor: info.name),
        "finished with \(tensors.count - current) tensors unwritten, starting here")
    }
    try output.commit()
  }

  /// Abandons the write; nothing appears at the destination.
  public func abort() { output.abort() }

  private func finishCurrent() throws {
    try output.pad(toMultipleOf: alignment)
    current += 1
    writtenOfCurrent = 0
  }
}
