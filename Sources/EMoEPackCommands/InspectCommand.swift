import ArgumentParser
import EMoECore
import EMoEFormats

/// `emoe-pack inspect FILE`: lists tensors and metadata of any file emoe-pack reads.
struct InspectCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "inspect",
    abstract: "Show the tensors and metadata of a safetensors, GGUF or .emoe file.",
    discussion: """
      Exit codes: 0 success; 1 I/O failure; 2 the file is malformed or of an unknown kind; \
      3 --check found a damaged .emoe file (a checksum, the header or the padding does not \
      hold); 64 usage error.
      """)

  @Argument(help: "A .safetensors file, a sharded checkpoint (index or folder), a .gguf or .emoe.")
  var file: String

  @Flag(help: "Print one JSON document on stdout instead of a table.")
  var json = false

  @Flag(help: "Also verify every checksum (.emoe files).")
  var check = false

  @OptionGroup var global: GlobalOptions

  func run() throws {
    _ = global.makeLogger()
    try CommandFailure.report {
      let report: Inspection
      do {
        report = try Inspection.report(path: file, verifyChecksums: check)
      } catch let error as ContainerError where check && Self.isDamage(error) {
        // --check promises exit 3 for a damaged container, as verify gives, whether the damage
        // stops the header from being read or shows in a tensor's checksum.
        CommandFailure.printError("\(error)")
        throw ExitStatus.integrityFailure
      }
      print(json ? report.json.prettySerialized() : report.text, terminator: json ? "\n" : "")
      if !report.checksOK { throw ExitStatus.integrityFailure }
    }
  }

  /// Whether `error` means a container is damaged (rather than not a container, too new, or
  /// unreadable), the same split `verify` makes.
  static func isDamage(_ error: ContainerError) -> Bool {
    switch error.kind {
    case .io, .notAContainer, .unsupportedVersion, .unknownRequiredFeature: false
    default: true
    }
  }
}
