import EMoECore
import EMoETestSupport
import Foundation
import Testing

/// `emoe-bench` parses its command line with ArgumentParser, keeping the spellings the bench
/// scripts use, and prints JSON lines.
@Suite("emoe-bench command line")
struct BenchCommandTests {
  /// The `emoe-bench` binary beside `emoe-pack`.
  static var executable: String {
    FileSystem.directory(of: CommandRunner.executable) + "/emoe-bench"
  }

  static func run(_ arguments: [String]) throws -> ChildProcess.Output {
    try ChildProcess.run(executable, arguments)
  }

  @Test("hash FILE... prints one JSON line per file")
  func hash() throws {
    let file = TestPaths.fixtures + "/models/llama-tiny/model.safetensors"
    let result = try Self.run(["hash", file, file])
    #expect(result.status == 0, "\(result.stderr)")
    let lines = result.stdout.split(separator: "\n")
    #expect(lines.count == 2)
    let first = try JSONValue.parse(String(lines[0]))
    #expect(first["benchmark"] == .string("sha256"))
    #expect(first["sha256"]?.stringValue == (try FileSystem.sha256(ofFile: file)))
  }

  @Test("clustering synthetic takes the scripts' options, --no-local-improvement included")
  func clustering() throws {
    let result = try Self.run([
      "clustering", "synthetic", "--rows", "64", "--cols", "8", "--experts", "4", "--restarts",
      "1", "--no-local-improvement",
    ])
    #expect(result.status == 0, "\(result.stderr)")
    let line = try JSONValue.parse(result.stdout)
    #expect(line["model"] == .string("synthetic-64x8"))
    #expect(line["experts"]?.intValue == 4)
    #expect(line["local_improvement"] == .bool(false))
  }

  @Test("runner takes comma lists; a bad value or option is a usage error (exit 64)")
  func usage() throws {
    let runner = try Self.run([
      "runner", "--tokens", "2", "--hidden", "8", "--intermediate", "16", "--experts", "4",
      "--top-k", "1,2", "--runs", "1",
    ])
    #expect(runner.status == 0, "\(runner.stderr)")
    let cases = runner.stdout.split(separator: "\n").compactMap {
      (try? JSONValue.parse(String($0)))?["case"]?.stringValue
    }
    #expect(cases.contains("sparse") && cases.contains("dense"), "\(runner.stdout)")
    for arguments in [
      ["runner", "--top-k", "1,x"], ["hash"], ["safetensors-read", "f", "--chunk", "0"],
      ["clustering", "sweep"], ["no-such-bench"],
    ] {
      let result = try Self.run(arguments)
      #expect(result.status == 64, "\(arguments): \(result.stderr)")
      #expect(result.stderr.contains("Error: "), "\(arguments): \(result.stderr)")
    }
  }
}
