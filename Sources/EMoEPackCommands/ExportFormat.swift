import ArgumentParser

/// The formats `export --to` writes.
enum ExportFormat: String, ExpressibleByArgument, CaseIterable {
  /// A Hugging Face checkpoint folder.
  case safetensors
  /// A llama.cpp MoE GGUF file.
  case gguf
}
