import ArgumentParser

/// `emoe-bench hash FILE...`.
struct HashCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "hash", abstract: "SHA-256 throughput over files already in memory.")

  @Argument(help: "The files to hash.")
  var files: [String]

  func run() throws {
    try HashBench.run(paths: files)
  }
}
