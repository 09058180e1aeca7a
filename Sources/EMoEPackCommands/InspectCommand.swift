import ArgumentParser
import EMoECore
import EMoEFormats

/// `emoe-pack inspect FILE`: lists tensors and metadata of any file emoe-pack reads.
struct InspectCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "inspect",
    abstract: "Show the tensors and metadata of a safetensors, GGUF or .emoe file.")

  @Argument(help: "A .safetensors file, a sharded checkpoint (index or folder), a .gguf or .emoe.")
  var file: String

  @Flag(help: "Print one JSON document on stdout instead of a table.")
  var json = false

  @Flag(help: "Also verify every checksum (.emoe files).")
  var check = false

  @OptionGroup var global: GlobalOptions

  func run() async throws {
    _ = global.makeLogger()
    try await CommandFailure.report {
      let report = try Inspection.report(path: file, verifyChecksums: check)
      print(json ? report.json.prettySerialized() : report.text, terminator: json ? "\n" : "")
      if !report.checksOK { throw ExitStatus.invalidInput }
    }
  }
}
