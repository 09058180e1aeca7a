import EMoETestSupport
import Testing

@Suite("emoe-pack command line")
struct CLITests {
  @Test("--help lists the subcommands and exits 0")
  func help() throws {
    let output = try CommandRunner.run(["--help"])
    #expect(output.status == 0)
    #expect(output.stdout.contains("inspect"))
  }

  @Test("a missing input file gives a one-line error and a non-zero exit")
  func missingFile() throws {
    let output = try CommandRunner.run(["inspect", "/nonexistent/model.safetensors"])
    #expect(output.status == 1)
    #expect(output.stderr.contains("/nonexistent/model.safetensors"))
    #expect(output.stderr.contains("No such file"))
  }

  @Test("an unknown option is a usage error (exit 64)")
  func usage() throws {
    let output = try CommandRunner.run(["inspect", "--no-such-flag"])
    #expect(output.status == 64)
  }
}
