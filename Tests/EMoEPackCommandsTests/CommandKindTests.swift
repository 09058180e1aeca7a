import ArgumentParser
import Testing

@testable import EMoEPackCommands

/// The commands await nothing, so none is an `AsyncParsableCommand`: each runs on the main
/// thread without a Swift concurrency executor behind it.
@Suite("emoe-pack commands are synchronous")
struct CommandKindTests {
  @Test("the root and every subcommand are plain ParsableCommands")
  func synchronous() {
    let commands = [EMoEPackCommand.self] + EMoEPackCommand.configuration.subcommands
    #expect(
      EMoEPackCommand.configuration.subcommands.map { $0.configuration.commandName }
        == ["convert", "export", "inspect", "verify", "batch", "run", "evaluate"])
    for command in commands {
      #expect(!(command is any AsyncParsableCommand.Type), "\(command)")
    }
  }
}
