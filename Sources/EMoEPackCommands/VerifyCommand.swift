import ArgumentParser
import EMoECore
import EMoEFormats

/// `emoe-pack verify MODEL.emoe`: checks a container's integrity (header checksum, every
/// tensor's checksum and decompression, zero padding) and reports each check.
struct VerifyCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "verify",
    abstract: "Check that an .emoe container is intact: header, every tensor checksum, padding.",
    discussion: """
      Exit codes: 0 every check passed; 3 an integrity check failed (the file is damaged); \
      2 the file is not an .emoe container or needs a newer emoe-pack; 1 I/O failure.
      """)

  @Argument(help: "The .emoe container to check.")
  var file: String

  @Flag(help: "Print one JSON document on stdout instead of a table.")
  var json = false

  @OptionGroup var global: GlobalOptions

  func run() async throws {
    _ = global.makeLogger()
    try await CommandFailure.report {
      let report: ContainerIntegrityReport
      do {
        report = try ContainerIntegrity.verify(path: file)
      } catch let error as ContainerError where error.kind == .io {
        CommandFailure.printError("\(error)")
        throw ExitStatus.failure
      }
      print(json ? report.json.prettySerialized() : report.text, terminator: json ? "\n" : "")
      if !report.ok { throw ExitStatus.integrityFailure }
    }
  }
}
