import ArgumentParser

/// The formats `export --to` writes.
enum ExportFormat: String, ExpressibleByArgument, CaseIterable {
  /// A Hugging Face checkpoint folder.
  case safetensors
  /// A llama.cpp MoE GGUF file.
  case gguf
  /// A Hugging Face model folder with modeling code transformers runs as EMoE.
  case hf
}
