import ArgumentParser

/// The `emoe-pack` command line: converts dense transformer checkpoints into Emergent
/// Mixture-of-Experts form and proves the result.
public struct EMoEPackCommand: AsyncParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "emoe-pack",
    abstract: "Turn dense transformer checkpoints into Emergent Mixture-of-Experts (EMoE) form.",
    discussion: """
      Exit codes: 0 success; 1 failure (I/O or internal); 2 invalid input file; \
      3 integrity failure (verify found a damaged container); 64 usage error.
      """,
    version: EMoEPackVersion.string,
    subcommands: [InspectCommand.self, VerifyCommand.self]
  )

  public init() {}
}
