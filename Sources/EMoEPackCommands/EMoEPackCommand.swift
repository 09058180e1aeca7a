import ArgumentParser
import EMoECore

/// The `emoe-pack` command line: converts dense transformer checkpoints into Emergent
/// Mixture-of-Experts form and proves the result.
public struct EMoEPackCommand: ParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "emoe-pack",
    abstract: "Turn dense transformer checkpoints into Emergent Mixture-of-Experts (EMoE) form.",
    discussion: """
      Exit codes: 0 success; 1 failure (I/O or internal); 2 invalid input file, or an option \
      value that does not fit the model or file; 3 integrity failure (verify or inspect --check \
      found a damaged container); 4 a batch job failed; 5 permutation mismatch, \
      6 equivalence above tolerance, 7 sparse/masked disagreement (verify; when several fail, \
      the first of 3, 8, 5, 6, 7 wins); 8 NaN or infinity in a tensor, an input or an output; \
      64 usage error, including an option value invalid on its own; 130/143 interrupted.
      """,
    version: EMoEPackVersion.string,
    subcommands: [
      ConvertCommand.self, ExportCommand.self, InspectCommand.self, VerifyCommand.self,
      BatchCommand.self, RunCommand.self, EvaluateCommand.self,
    ]
  )

  public init() {}

  /// Parses the process's arguments (after letting `convert --compress` take no value) and
  /// runs the chosen subcommand.
  ///
  /// SIGINT, SIGTERM and SIGHUP remove every temporary output file before the process exits
  /// with 128 + the signal number, so an interrupted command never leaves a partial file. A
  /// SIGBUS from an input that shrinks while mapped names that file, removes them too and exits
  /// with 1 (``MappedFileFaults``).
  public static func main() {
    TemporaryFiles.installSignalHandlers()
    MappedFileFaults.installHandler()
    main(ConvertCommand.normalizingArguments(Array(CommandLine.arguments.dropFirst())))
  }
}
