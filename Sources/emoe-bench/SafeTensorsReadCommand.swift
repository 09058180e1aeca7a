import ArgumentParser

/// `emoe-bench safetensors-read FILE [--runs N] [--cold] [--chunk BYTES]`.
struct SafeTensorsReadCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "safetensors-read",
    abstract: "Time opening a safetensors file and summing every byte of every tensor.")

  @Argument(help: "The safetensors file.")
  var file: String

  @Option(help: "Runs; the best is reported.")
  var runs = 5

  @Flag(help: "Drop the file's cached pages before each run.")
  var cold = false

  @Option(help: "Bytes streamed at a time (at most 16 MiB).")
  var chunk = 8 << 20

  func validate() throws {
    guard runs > 0 else { throw ValidationError("--runs must be at least 1") }
    guard chunk > 0, chunk <= 1 << 24 else {
      throw ValidationError("--chunk must be in 1...\(1 << 24)")
    }
  }

  func run() throws {
    try SafeTensorsBench.run(path: file, runs: runs, cold: cold, chunkSize: chunk)
  }
}
