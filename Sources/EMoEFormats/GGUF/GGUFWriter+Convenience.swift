import EMoECore

extension GGUFWriter {
  /// Writes `tensors` (in order) with `metadata` to `destination` in one call.
  ///
  /// - Throws: ``GGUFError`` or `FileError` as ``init(destination:metadata:tensors:)`` and
  ///   ``append(_:)``.
  public static func write(
    to destination: String, metadata: [(key: String, value: GGUFValue)], tensors: [Tensor]
  ) throws {
    let writer = try GGUFWriter(
      destination: destination, metadata: metadata,
      tensors: tensors.map { TensorPlan(name: $0.name, dtype: $0.dtype, shape: $0.shape) })
    for tensor in tensors { try writer.write(tensor) }
    try writer.finish()
  }

  /// Copies a GGUF file's metadata and tensors to `destination`, streaming one tensor at a time
  /// from the mapping (written as version 3).
  ///
  /// - Throws: ``GGUFError`` or `FileError` as ``write(to:metadata:tensors:)``.
  public static func copy(_ source: GGUFFile, to destination: String) throws {
    let writer = try GGUFWriter(
      destination: destination, metadata: source.keyValues,
      tensors: source.tensors.map { TensorPlan(name: $0.name, dtype: $0.dtype, shape: $0.shape) })
    for info in source.tensors {
      try writer.write(source.tensor(info))
      source.file.adviseDone(offset: info.fileOffset, count: info.byteCount)
    }
    try writer.finish()
  }
}
