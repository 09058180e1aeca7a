import EMoECore
import EMoEFormats

/// Opens any dense model `convert` accepts as a ``EMoEFormats/ModelSource``, whatever its
/// format, and names the format as the container records it.
public enum ModelInput {
  /// Opens the model at `path`: a `.safetensors` file, a sharded checkpoint (its
  /// `model.safetensors.index.json` or its folder) or a GGUF file.
  ///
  /// - Throws: ``ConversionError/io(_:)`` when the file cannot be opened;
  ///   ``ConversionError/invalidInput(_:)`` when it is malformed, of no known kind, or already an
  ///   `.emoe` container.
  public static func open(_ path: String) throws(ConversionError) -> (
    source: any ModelSource, format: FileKind
  ) {
    do {
      switch try FileKind.detect(path: path) {
      case .safetensors, .safetensorsIndex:
        let checkpoint = try SafeTensorsCheckpoint(path: path)
        return (checkpoint, checkpoint.indexPath == nil ? .safetensors : .safetensorsIndex)
      case .gguf:
        return (try GGUFFile(path: path), .gguf)
      case .emoe:
        throw ConversionError.invalidInput(
          "\(path): is already an .emoe container (convert reads dense safetensors or GGUF models)"
        )
      }
    } catch {
      throw .reading(error)
    }
  }

  /// Every file read for the model at `path`: the input file (or the index of a sharded
  /// checkpoint), every weight file and the `config.json` beside them, as `convert` lists them
  /// in its `--depfile`.
  ///
  /// - Throws: as ``open(_:)``.
  public static func dependencies(of path: String) throws(ConversionError) -> [String] {
    ConversionPlan.dependencies(source: try open(path).source, inputPath: path)
  }
}
