import EMoEConvert
import EMoECore

/// One extra output a batch job derives from its container, as `emoe-pack export` would.
public struct BatchExport: Sendable, Equatable {
  /// The format exported to (`export --to`).
  public enum Format: String, Sendable, CaseIterable {
    /// A Hugging Face checkpoint folder (`model.safetensors` and `config.json`).
    case safetensors
    /// A llama.cpp MoE GGUF file.
    case gguf
  }

  /// The format.
  public var format: Format
  /// The output path (a folder for safetensors, a file for gguf), resolved against the
  /// manifest's folder.
  public var output: String
  /// The safetensors layout (`export --layout`).
  public var layout: SafeTensorsExport.Layout
  /// The experts llama.cpp selects per token in a GGUF export (`export --top-k`), or `nil`.
  public var topK: Int?

  /// Creates an export target.
  public init(
    format: Format, output: String, layout: SafeTensorsExport.Layout = .dense, topK: Int? = nil
  ) {
    self.format = format
    self.output = output
    self.layout = layout
    self.topK = topK
  }

  /// Whether a complete export appears to be at ``output``: for safetensors a folder holding
  /// `config.json` and `model.safetensors` (or its index), for gguf a file.
  var isPresent: Bool {
    var isDirectory = false
    let exists = FileSystem.exists(output, isDirectory: &isDirectory)
    switch format {
    case .safetensors:
      guard exists, isDirectory else { return false }
      return FileSystem.exists(FileSystem.join(output, "config.json"))
        && (FileSystem.exists(FileSystem.join(output, "model.safetensors"))
          || FileSystem.exists(FileSystem.join(output, "model.safetensors.index.json")))
    case .gguf:
      return exists && !isDirectory
    }
  }
}
