import ArgumentParser

/// `emoe-bench container [--models DIR] [--minilm PATH] [--smollm PATH] [--out DIR]
/// [--levels 1,3,9,19]`.
struct ContainerCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "container",
    abstract: "Write and fully verify .emoe containers of the real models at several zstd levels.")

  @Option(help: "The folder of the real models.")
  var models = ".cache/models"

  @Option(name: .customLong("minilm"), help: "MiniLM's safetensors file (default: in --models).")
  var miniLM: String?

  @Option(name: .customLong("smollm"), help: "SmolLM2's GGUF file (default: in --models).")
  var smolLM: String?

  @Option(help: "The folder the containers are written to.")
  var out = ".cache/bench"

  @Option(help: "zstd levels besides no compression.")
  var levels = IntegerList([1, 3, 9, 19])

  func run() throws {
    try ContainerBench.run(
      miniLM: miniLM ?? models + "/all-MiniLM-L6-v2/model.safetensors",
      smolLM: smolLM ?? models + "/SmolLM2-135M-Instruct.Q4_1.gguf", out: out,
      levels: levels.values)
  }
}
