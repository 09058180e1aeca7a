import Testing

@testable import EMoEPackCommands

/// `--router-bias` names the router's bias; `--gate-bias`, its old spelling, still works and is
/// not shown in help.
@Suite("convert --router-bias and the hidden --gate-bias")
struct RouterBiasOptionTests {
  @Test("both spellings set the router bias; only --router-bias is in help")
  func spellings() throws {
    for flag in ["--router-bias", "--gate-bias"] {
      let command = try ConvertCommand.parse(["in.safetensors", "out.emoe", flag])
      #expect(command.options.routerBias, "\(flag)")
    }
    #expect(try !ConvertCommand.parse(["in.safetensors", "out.emoe"]).options.routerBias)
    let help = ConvertCommand.helpMessage(columns: 1000)
    #expect(help.contains("--router-bias"))
    #expect(!help.contains("--gate-bias"))
  }
}
