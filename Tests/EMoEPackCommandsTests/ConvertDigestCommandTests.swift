import EMoETestSupport
import Foundation
import Testing

@testable import EMoECore
@testable import EMoEPackCommands

/// `convert` hashes its output only when `--json` reports the digest.
@Suite("emoe-pack convert: the output hashed only for --json")
struct ConvertDigestCommandTests {
  @Test("convert without --json reads no output for a digest")
  func noDigestWithoutJSON() throws {
    let directory = try TemporaryDirectory()
    let input = TestPaths.fixtures + "/models/llama-tiny"
    let output = directory.file("model.emoe")
    let command = try ConvertCommand.parse([
      input, output, "--experts", "8", "--layers", "1", "--restarts", "1", "-q",
    ])
    try command.run()
    #expect(FileSystem.exists(output))
    #expect(FileDigests.shared.timesHashed(output) == 0)
    // The source was hashed through the process's cache, once for this version of the files.
    #expect(FileDigests.shared.timesHashed(input + "/model.safetensors") >= 1)
  }
}
