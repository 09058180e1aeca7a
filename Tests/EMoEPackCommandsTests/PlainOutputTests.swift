import EMoEConvert
import EMoEFormats
import EMoETestSupport
import Foundation
import Logging
import Testing

@testable import EMoEPackCommands

/// The stderr of a Unix tool: plain `emoe-pack: …` lines, `--verbose` and `--quiet`, the
/// progress bar on a terminal only, and the one-line summary of a failed `verify`.
@Suite("plain stderr output, progress bar and verify summary")
struct PlainOutputTests {
  static func fixture(_ name: String) -> String { TestPaths.fixtures + "/models/" + name }

  /// A convert run of llama-tiny with `extra` options.
  static func convert(_ directory: TemporaryDirectory, _ extra: [String]) throws
    -> ChildProcess.Output
  {
    try CommandRunner.run(
      ["convert", fixture("llama-tiny"), directory.file("out.emoe"), "--restarts", "1"] + extra)
  }

  @Test("convert prints plain lines: no timestamp, level or module, sizes in units")
  func plainLines() throws {
    let directory = try TemporaryDirectory()
    let result = try Self.convert(directory, [])
    #expect(result.status == 0, "\(result.stderr)")
    let lines = result.stderr.split(separator: "\n").map(String.init)
    #expect(lines.count == 3, "\(result.stderr)")
    for line in lines {
      #expect(line.hasPrefix("emoe-pack: "), "\(line)")
      #expect(!line.contains(" info "), "\(line)")
      #expect(!line.contains("[EMoEPackCommands]"), "\(line)")
      #expect(line.firstMatch(of: /\d{4}-\d\d-\d\dT\d\d:/) == nil, "\(line)")
    }
    let wrote = try #require(lines.last)
    let pattern = /emoe-pack: wrote (.+) \((\d+\.\d) [kMG]B\) in \d+\.\d s/
    let match = try #require(wrote.wholeMatch(of: pattern), "\(wrote)")
    #expect(String(match.1) == directory.file("out.emoe"))
    // Not a terminal: no progress drawn, no control characters at all.
    #expect(!result.stderr.contains("\r"))
    #expect(!result.stderr.contains("\u{1B}"))
    #expect(result.stdout.isEmpty)
  }

  @Test("--verbose adds the per-layer details; -q leaves stderr empty")
  func verboseAndQuiet() throws {
    let plain = try Self.convert(try TemporaryDirectory(), [])
    let verbose = try Self.convert(try TemporaryDirectory(), ["--verbose"])
    let quiet = try Self.convert(try TemporaryDirectory(), ["-q"])
    #expect(verbose.status == 0 && quiet.status == 0 && plain.status == 0)
    let extra = verbose.stderr.split(separator: "\n").filter {
      $0.firstMatch(of: #/^emoe-pack: layer \d+: \d+ experts, SSE /#) != nil
    }
    #expect(!extra.isEmpty, "\(verbose.stderr)")
    #expect(!plain.stderr.contains("SSE"), "\(plain.stderr)")
    #expect(verbose.stderr.split(separator: "\n").allSatisfy { $0.hasPrefix("emoe-pack: ") })
    #expect(quiet.stderr.isEmpty, "\(quiet.stderr)")
  }

  @Test("errors keep their one line and exit code under -q")
  func quietErrors() throws {
    let result = try CommandRunner.run(
      ["convert", "/nonexistent/model.safetensors", "/tmp/never.emoe", "-q"])
    #expect(result.status == 1, "\(result.stderr)")
    #expect(result.stderr.hasPrefix("Error: /nonexistent/model.safetensors"), "\(result.stderr)")
  }

  @Test("the log handler's lines by level, metadata only at debug, control characters escaped")
  func handlerLines() {
    let handler = PlainLogHandler(label: "emoe-pack") { _ in }
    #expect(handler.line(level: .info, message: "wrote x", metadata: nil) == "emoe-pack: wrote x\n")
    #expect(handler.line(level: .notice, message: "n", metadata: nil) == "emoe-pack: n\n")
    #expect(
      handler.line(level: .warning, message: "slow", metadata: nil)
        == "emoe-pack: warning: slow\n")
    #expect(
      handler.line(level: .error, message: "bad", metadata: nil) == "emoe-pack: error: bad\n")
    #expect(
      handler.line(level: .critical, message: "bad", metadata: nil) == "emoe-pack: error: bad\n")
    #expect(
      handler.line(level: .debug, message: "layer 3", metadata: ["b": "2", "a": "1"])
        == "emoe-pack: layer 3 a=1 b=2\n")
    #expect(
      handler.line(level: .info, message: "layer 3", metadata: ["a": "1"])
        == "emoe-pack: layer 3\n")
    #expect(
      handler.line(level: .info, message: "name \u{1B}[2J", metadata: nil)
        == "emoe-pack: name \\u{1B}[2J\n")
  }

  @Test("the logger of the flags filters by level")
  func loggerLevels() throws {
    let verbose = try GlobalOptions.parse(["--verbose"])
    let quiet = try GlobalOptions.parse(["-q"])
    let plain = try GlobalOptions.parse([])
    #expect(verbose.makeLogger().logLevel == .debug)
    #expect(quiet.makeLogger().logLevel == .error)
    #expect(plain.makeLogger().logLevel == .info)
    #expect(!quiet.showsProgress)
  }

  @Test("byte counts in decimal units")
  func byteCounts() {
    #expect(ByteCount.format(0) == "0 B")
    #expect(ByteCount.format(999) == "999 B")
    #expect(ByteCount.format(1000) == "1.0 kB")
    #expect(ByteCount.format(1_100_000) == "1.1 MB")
    #expect(ByteCount.format(999_960) == "1.0 MB")
    #expect(ByteCount.format(3_400_000_000) == "3.4 GB")
    #expect(ByteCount.format(250e6) == "250.0 MB")
    #expect(ByteCount.format(-1.0) == "? B")
  }

  @Test("the progress line: bar, percentage, phase, rate and ETA")
  func progressLine() {
    let hashing = ConversionProgress(
      phase: .hashing, layersDone: 0, layerCount: 8, elapsed: 2, fraction: 0,
      bytesDone: 500_000_000, bytesTotal: 1_000_000_000, bytesPerSecond: 250e6)
    #expect(
      ProgressLine.render(hashing, columns: 100)
        == "[########........]  50%  hashing input 500.0 MB/1.0 GB  250.0 MB/s  ETA 2.0 s")
    let clustering = ConversionProgress(
      phase: .clustering, layersDone: 2, layerCount: 8, layer: 21, elapsed: 10.5,
      fraction: 0.2625, bytesDone: 1_200_000, bytesTotal: 9_000_000, bytesPerSecond: 120e6)
    #expect(
      ProgressLine.render(clustering, columns: 100)
        == "[####............]  26%  layer 3/8 (model layer 21) clustering  120.0 MB/s  ETA 29.5 s")
    // Too early to extrapolate: no ETA, and no rate before any byte moved.
    let start = ConversionProgress(
      phase: .readingKeys, layersDone: 0, layerCount: 2, layer: 1, elapsed: 0.1, fraction: 0.005)
    #expect(
      ProgressLine.render(start, columns: 100)
        == "[................]   0%  layer 1/2 (model layer 1) reading keys")
    let done = ConversionProgress(
      phase: .finishing, layersDone: 2, layerCount: 2, elapsed: 3, fraction: 1)
    #expect(
      ProgressLine.render(done, columns: 100) == "[################] 100%  layer 2/2 finishing")
    // Never wider than the terminal less one column, so that `\r` can redraw it.
    #expect(ProgressLine.render(clustering, columns: 40).count == 39)
    #expect(ProgressLine.bar(.nan) == "[................]")
    #expect(ProgressLine.percent(1.7) == "100%")
  }

  @Test("verify's and export's steps: bytes with rate and ETA, layers as counts")
  func stepLine() {
    let hashing = ProgressLine.Step(
      label: "hashing source", done: 250_000_000, total: 1_000_000_000, countsBytes: true)
    #expect(
      ProgressLine.render(hashing, elapsed: 1, columns: 100)
        == "[####............]  25%  hashing source 250.0 MB/1.0 GB  250.0 MB/s  ETA 3.0 s")
    let layers = ProgressLine.Step(label: "checking layers", done: 3, total: 8, countsBytes: false)
    #expect(
      ProgressLine.render(layers, elapsed: 6, columns: 100)
        == "[######..........]  37%  checking layers 3/8  ETA 10.0 s")
    // Nothing done yet: no rate, no ETA; no total: no bar.
    let first = ProgressLine.Step(label: "checking layers", done: 0, total: 8, countsBytes: false)
    #expect(
      ProgressLine.render(first, elapsed: 0, columns: 100)
        == "[................]   0%  checking layers 0/8")
    let open = ProgressLine.Step(label: "checking integrity", done: 0, total: 0, countsBytes: false)
    #expect(ProgressLine.render(open, elapsed: 3, columns: 100) == "checking integrity…")
    #expect(ProgressLine.render(hashing, elapsed: 1, columns: 30).count == 29)
  }

  @Test("on a terminal verify and export (safetensors) draw their steps; -q draws nothing")
  func stepsOnTerminal() throws {
    let directory = try TemporaryDirectory()
    let container = directory.file("out.emoe")
    let converted = try CommandRunner.run([
      "convert", Self.fixture("llama-tiny"), container, "--restarts", "1", "--quiet",
    ])
    try #require(converted.status == 0, "\(converted.stderr)")
    var environment = ProcessInfo.processInfo.environment
    environment["TERM"] = "xterm"
    environment["COLUMNS"] = "120"
    func quoted(_ arguments: [String]) -> String {
      ([CommandRunner.executable] + arguments).map {
        "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'"
      }.joined(separator: " ")
    }
    let runs: [([String], [String])] = [
      (
        ["verify", container, "--source", Self.fixture("llama-tiny") + "/model.safetensors"],
        ["checking integrity", "hashing source", "checking layers"]
      ),
      (
        ["export", container, directory.file("hf"), "--to", "safetensors"],
        ["writing tensors"]
      ),
    ]
    for (arguments, labels) in runs {
      let result = try ChildProcess.run(
        "/usr/bin/script", ["-qec", quoted(arguments), "/dev/null"], environment: environment)
      #expect(result.status == 0, "\(arguments): \(result.stdout)")
      #expect(result.stdout.contains("\r\u{1B}[K"), "\(arguments): \(result.stdout)")
      for label in labels {
        #expect(result.stdout.contains(label), "\(arguments) lacks \(label): \(result.stdout)")
      }
      let quiet = try ChildProcess.run(
        "/usr/bin/script", ["-qec", quoted(arguments + ["-q"]), "/dev/null"],
        environment: environment)
      #expect(!quiet.stdout.contains("\u{1B}"), "\(arguments) -q: \(quiet.stdout)")
    }
  }

  @Test("on a terminal (script's pty) convert draws the bar on one redrawn line")
  func progressOnTerminal() throws {
    let directory = try TemporaryDirectory()
    let command = [
      CommandRunner.executable, "convert", Self.fixture("llama-tiny"), directory.file("out.emoe"),
      "--restarts", "1",
    ].map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
    var environment = ProcessInfo.processInfo.environment
    environment["TERM"] = "xterm"
    environment["COLUMNS"] = "120"
    let result = try ChildProcess.run(
      "/usr/bin/script", ["-qec", command, "/dev/null"], environment: environment)
    #expect(result.status == 0, "\(result.stdout)")
    // The pty carries stdout and stderr both; every redraw returns and clears the line.
    #expect(result.stdout.contains("\r\u{1B}[K[#"), "\(result.stdout)")
    #expect(result.stdout.contains("hashing input"), "\(result.stdout)")
    #expect(result.stdout.contains("% "), "\(result.stdout)")
    #expect(result.stdout.contains("\r\u{1B}[Kemoe-pack: wrote "), "\(result.stdout)")
    let quiet = try ChildProcess.run(
      "/usr/bin/script", ["-qec", command + " -q", "/dev/null"], environment: environment)
    #expect(quiet.status == 0, "\(quiet.stdout)")
    #expect(!quiet.stdout.contains("\u{1B}"), "\(quiet.stdout)")
  }

  @Test("a failed verify prints one summary line on stderr when stdout goes to /dev/null")
  func verifySummary() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("model.emoe")
    var bytes = try VerifyCommandTests.writeContainer(to: path)
    let intact = try ChildProcess.run(
      "/bin/sh", ["-c", "exec \"$0\" verify \"$1\" >/dev/null", CommandRunner.executable, path])
    #expect(intact.status == 0 && intact.stderr.isEmpty, "\(intact.stderr)")
    let w2 = try #require(try ContainerFile(path: path).entry(named: "w2"))
    bytes[w2.offset + 3] ^= 0x04
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    for extra in [[], ["--json"], ["-q"]] {
      let result = try ChildProcess.run(
        "/bin/sh",
        ["-c", "exec \"$0\" verify \"$@\" >/dev/null", CommandRunner.executable, path]
          + extra)
      #expect(result.status == 3, "\(extra): \(result.stderr)")
      #expect(result.stdout.isEmpty)
      let summary = "emoe-pack: verify failed: 1 of 11 checks failed in \(path) (first: tensor:w2: "
      #expect(
        result.stderr.hasPrefix(summary + "checksum mismatch at byte "),
        "\(extra): \(result.stderr)")
      #expect(result.stderr.hasSuffix(")\n"), "\(result.stderr)")
      #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
    }
  }
}
