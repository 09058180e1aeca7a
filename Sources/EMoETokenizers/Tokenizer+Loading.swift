import EMoECore
import EMoEFormats

extension Tokenizer {
  /// The tokenizer of the model at `path`.
  ///
  /// - A GGUF file: its `tokenizer.ggml.*` metadata.
  /// - A `tokenizer.json`: that file.
  /// - A safetensors file or a folder of shards: the `tokenizer.json` beside it.
  ///
  /// - Throws: ``TokenizerError`` naming the file and key when the tokenizer is missing,
  ///   malformed or of a kind not supported.
  public static func load(path: String) throws(TokenizerError) -> Tokenizer {
    if path.hasSuffix(".json") { return try load(tokenizerJSON: path) }
    let kind: FileKind
    do {
      kind = try FileKind.detect(path: path)
    } catch {
      throw TokenizerError("\(error)", location: ErrorLocation(file: path))
    }
    switch kind {
    case .gguf:
      let file: GGUFFile
      do {
        file = try GGUFFile(path: path)
      } catch {
        throw TokenizerError("\(error)", location: ErrorLocation(file: path))
      }
      return try load(gguf: file)
    default:
      var isDirectory = false
      let folder =
        FileSystem.exists(path, isDirectory: &isDirectory) && isDirectory
        ? path : FileSystem.directory(of: path)
      let candidate = folder + "/tokenizer.json"
      guard FileSystem.exists(candidate) else {
        throw TokenizerError(
          "no tokenizer: \(candidate) does not exist (give the tokenizer.json of this model "
            + "with --tokenizer, or token ids with --tokens)",
          location: ErrorLocation(file: path))
      }
      return try load(tokenizerJSON: candidate)
    }
  }
}
