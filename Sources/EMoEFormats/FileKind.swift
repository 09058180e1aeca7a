import EMoECore

/// The kinds of model file emoe-pack reads, told apart by content, not by name.
///
/// The raw values are the names a container records as its source's `format`
/// (``ContainerSourceDescription/kind``).
public enum FileKind: String, Sendable {
  /// One `.safetensors` file.
  case safetensors
  /// A sharded safetensors checkpoint: its `model.safetensors.index.json` or its folder.
  case safetensorsIndex = "safetensors_index"
  /// A GGUF file.
  case gguf
  /// An `.emoe` container.
  case emoe

  /// Detects the kind of `path` from its first bytes (or, for folders, their contents).
  ///
  /// - Throws: ``FormatDetectionError`` when the file cannot be read or is of no known kind.
  public static func detect(path: String) throws -> FileKind {
    if path.hasSuffix(".json") { return .safetensorsIndex }
    var isDirectory = false
    if FileSystem.exists(path, isDirectory: &isDirectory), isDirectory {
      return .safetensorsIndex
    }
    let file = try MappedFile(path: path)
    let head = file.bytes(offset: 0, count: min(8, file.count))
    if head.count >= 4, head[0] == 0x47, head[1] == 0x47, head[2] == 0x55, head[3] == 0x46 {
      return .gguf
    }
    if head.count >= 8, Array(head[0..<8]) == Array("EMOEPACK".utf8) { return .emoe }
    if head.count == 8 { return .safetensors }
    throw FormatDetectionError(path: path)
  }
}

/// A file whose kind could not be recognised.
public struct FormatDetectionError: Error, Sendable, CustomStringConvertible {
  /// The file concerned.
  public var path: String
  /// A readable message.
  public var description: String {
    "\(path): not a safetensors, GGUF or .emoe file (too short or unknown magic)"
  }
}
