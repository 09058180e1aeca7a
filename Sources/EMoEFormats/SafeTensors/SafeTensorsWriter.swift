import EMoECore

/// Writes a safetensors file as a stream: the header first (every size is known from the
/// tensor descriptions), then each tensor's bytes in file order, so peak memory is about one
/// tensor whatever the file's size.
///
/// The file is written atomically through ``EMoECore/AtomicFileWriter``: nothing appears at the
/// destination until ``commit()``, and an error, ``abort()``, or dropping the writer without
/// committing leaves no file there and removes the temporary file. Output is deterministic; see
/// ``SafeTensorsLayout`` for the tensor order and header format.
///
///     let writer = try SafeTensorsWriter(destination: path, tensors: descriptions)
///     for tensor in writer.layout.tensors {
///       try writer.write(bytes(of: tensor), forTensor: tensor.name)
///     }
///     try writer.commit()
public final class SafeTensorsWriter {
  /// The planned file: order, offsets, header.
  public let layout: SafeTensorsLayout
  private let output: AtomicFileWriter
  private var nextIndex = 0
  private var writtenOfCurrent = 0

  /// Plans the file, creates its temporary file and writes the header.
  ///
  /// - Parameters:
  ///   - destination: where the file appears on ``commit()``.
  ///   - tensors: the tensors, in any order; their bytes must then be given in
  ///     `layout.tensors` order.
  ///   - metadata: `__metadata__` pairs (see ``SafeTensorsLayout``).
  /// - Throws: ``SafeTensorsError`` for an invalid description, ``FileError`` when the temporary
  ///   file cannot be created or written.
  public init(
    destination: String, tensors: [SafeTensorsTensorDescription],
    metadata: [(key: String, value: String)] = []
  ) throws {
    layout = try SafeTensorsLayout(tensors: tensors, metadata: metadata, path: destination)
    output = try AtomicFileWriter(destination: destination)
    try output.write(layout.headerBytes)
  }

  /// Where the file appears on ``commit()``.
  public var destination: String { output.destination }

  /// The tensor whose bytes are expected next, or `nil` once every tensor is written.
  public var nextTensor: SafeTensorsTensorDescription? {
    nextIndex < layout.tensors.count ? layout.tensors[nextIndex] : nil
  }

  /// Writes all the bytes of the next tensor, which must be named `name`.
  public func write(_ bytes: UnsafeRawBufferPointer, forTensor name: String) throws {
    let expected = try expectNext(name)
    guard writtenOfCurrent == 0, bytes.count == expected.count else {
      throw wrongSize(name, given: bytes.count, expected: expected.count)
    }
    try output.write(bytes)
    nextIndex += 1
  }

  /// Writes all the bytes of the next tensor from `storage` (a mapped slice is copied straight
  /// from the mapping, whose pages are released afterwards).
  public func write(_ storage: TensorStorage, forTensor name: String) throws {
    try storage.withUnsafeBytes { try write($0, forTensor: name) }
    if case .mapped(let file, let offset, let count) = storage {
      file.adviseDone(offset: offset, count: count)
    }
  }

  /// Writes `tensor`, which must be the next tensor and match its description.
  public func write(_ tensor: Tensor) throws {
    _ = try expectNext(tensor.name)
    let description = layout.tensors[nextIndex]
    guard tensor.dtype == description.dtype, tensor.shape == description.shape else {
      throw SafeTensorsError(
        .invalidTensorView, ErrorLocation(file: destination, tensor: tensor.name),
        detail:
          "the tensor is \(tensor.dtype.rawValue) \(tensor.shape) but was described as \(description.dtype.rawValue) \(description.shape)"
      )
    }
    try write(tensor.storage, forTensor: tensor.name)
  }

  /// Appends part of the next tensor's bytes, for producers that make a tensor in pieces; the
  /// tensor is complete once all its bytes are appended.
  public func append(_ chunk: UnsafeRawBufferPointer, forTensor name: String) throws {
    let expected = try expectNext(name)
    guard writtenOfCurrent + chunk.count <= expected.count else {
      throw wrongSize(name, given: writtenOfCurrent + chunk.count, expected: expected.count)
    }
    try output.write(chunk)
    writtenOfCurrent += chunk.count
    if writtenOfCurrent == expected.count {
      writtenOfCurrent = 0
      nextIndex += 1
    }
  }

  /// Renames the finished file into place.
  ///
  /// - Throws: ``SafeTensorsError`` when some tensor's bytes are missing (the temporary file is
  ///   then removed), ``FileError`` when syncing or renaming fails.
  public func commit() throws {
    guard nextIndex == layout.tensors.count else {
      let missing = layout.tensors[nextIndex].name
      output.abort()
      throw SafeTensorsError(
        .invalidWriteOrder, ErrorLocation(file: destination, tensor: missing),
        detail: "commit before the bytes of this tensor and those after it were written")
    }
    try output.commit()
  }

  /// Removes the temporary file; nothing appears at the destination.
  public func abort() { output.abort() }

  private func expectNext(_ name: String) throws(SafeTensorsError) -> Range<Int> {
    guard nextIndex < layout.tensors.count else {
      throw SafeTensorsError(
        .invalidWriteOrder, ErrorLocation(file: destination, tensor: name),
        detail: "every tensor has already been written")
    }
    let expected = layout.tensors[nextIndex].name
    guard name == expected else {
      throw SafeTensorsError(
        .invalidWriteOrder, ErrorLocation(file: destination, tensor: name),
        detail: "the tensor `\(expected)` comes next in the file")
    }
    return layout.byteRanges[nextIndex]
  }

  private func wrongSize(_ name: String, given: Int, expected: Int) -> SafeTensorsError {
    let description = layout.tensors[nextIndex]
    return SafeTensorsError(
      .invalidTensorView,
      ErrorLocation(
        file: destination, tensor: name,
        offset: layout.dataStart + layout.byteRanges[nextIndex].lowerBound),
      detail:
        "tensor of type \(description.dtype.rawValue) and shape \(description.shape) can't be created from \(given) bytes (it takes \(expected))"
    )
  }
}

extension SafeTensorsWriter {
  /// Writes a whole file, asking `data` for each tensor's bytes in file order, one at a time.
  ///
  /// - Parameters:
  ///   - destination: the file to create (atomically).
  ///   - tensors: the tensors, in any order.
  ///   - metadata: `__metadata__` pairs (see ``SafeTensorsLayout``).
  ///   - data: returns the bytes of the tensor it is given; called once per tensor in
  ///     ``SafeTensorsLayout`` order. If it throws, no file is left behind.
  public static func write(
    to destination: String, tensors: [SafeTensorsTensorDescription],
    metadata: [(key: String, value: String)] = [],
    data: (SafeTensorsTensorDescription) throws -> TensorStorage
  ) throws {
    let writer = try SafeTensorsWriter(
      destination: destination, tensors: tensors, metadata: metadata)
    do {
      for tensor in writer.layout.tensors {
        try writer.write(try data(tensor), forTensor: tensor.name)
      }
      try writer.commit()
    } catch {
      writer.abort()
      throw error
    }
  }

  /// Writes `tensors` (whose storage may be mapped from another file) to `destination`.
  public static func write(
    to destination: String, tensors: [Tensor], metadata: [(key: String, value: String)] = []
  ) throws {
    var byName: [String: Tensor] = [:]
    for tensor in tensors { byName[tensor.name] = tensor }
    try write(
      to: destination, tensors: tensors.map(SafeTensorsTensorDescription.init),
      metadata: metadata
    ) { description in
      // Names are unique here: the layout has already refused repeated ones.
      byName[description.name]?.storage ?? .owned([])
    }
  }
}
