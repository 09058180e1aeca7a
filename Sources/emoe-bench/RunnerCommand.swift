import ArgumentParser

/// `emoe-bench runner [--tokens 512] [--hidden 4096] [--intermediate 11008] [--experts 64]
/// [--top-k 8,16,32,64] [--runs 3]`.
struct RunnerCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "runner",
    abstract: "The sparse EMoE FFN against the dense FFN on a LLaMA-7B-shaped SwiGLU layer.")

  @Option(help: "Tokens per forward pass.")
  var tokens = 512

  @Option(help: "The hidden size d.")
  var hidden = 4096

  @Option(help: "The intermediate size n.")
  var intermediate = 11008

  @Option(help: "Experts E (n must be a multiple).")
  var experts = 64

  @Option(name: .customLong("top-k"), help: "The k values of the sparse path.")
  var topK = IntegerList([8, 16, 32, 64])

  @Option(help: "Rounds over all cases; each case reports its best.")
  var runs = 3

  func run() throws {
    try RunnerBench.run(
      tokens: tokens, d: hidden, n: intermediate, experts: experts, runs: max(1, runs),
      topKs: topK.values)
  }
}
