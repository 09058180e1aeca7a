import ArgumentParser

/// `emoe-bench gguf-codecs [--model FILE.gguf] [--runs N] | --int8-error | --all-types`.
struct GGUFCodecsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "gguf-codecs",
    abstract: "Throughput of the ggml codecs on SmolLM2's FFN tensors.")

  @Option(help: "The SmolLM2-135M Q4_1 GGUF file.")
  var model = ".cache/models/SmolLM2-135M-Instruct.Q4_1.gguf"

  @Option(name: .customLong("minilm"), help: "MiniLM's safetensors file (--int8-error).")
  var miniLM = ".cache/models/all-MiniLM-L6-v2/model.safetensors"

  @Option(help: "Passes per measurement; the best is reported.")
  var runs = 5

  @Flag(name: .customLong("int8-error"), help: "Measure the int8 and Q8_0 rounding errors.")
  var int8Error = false

  @Flag(name: .customLong("all-types"), help: "Time every decoder on made-up blocks.")
  var allTypes = false

  func validate() throws {
    guard runs > 0 else { throw ValidationError("--runs must be at least 1") }
  }

  func run() throws {
    try GGUFCodecsBench.run(
      GGUFCodecsBench.Options(
        model: model, miniLM: miniLM, runs: runs, int8Error: int8Error, allTypes: allTypes))
  }
}
