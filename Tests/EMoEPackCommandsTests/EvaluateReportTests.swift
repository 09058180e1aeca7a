import EMoECore
import EMoETestSupport
import Foundation
import Testing

/// `evaluate --report` in a real browser: Debian's headless Chromium renders the page to a PNG
/// without console errors, and the page's text holds the numbers of `--json`.
@Suite("evaluate --report in Chromium")
struct EvaluateReportTests {
  /// `value` rounded to `digits` decimals as the report prints it.
  static func text(_ value: Double, digits: Int) -> String {
    String(format: "%.\(digits)f", value)
  }

  @Test(
    "the MiniLM report renders in Chromium and shows the figures of --json",
    .enabled(if: Oracles.miniLM && Oracles.chromium))
  func miniLMReport() throws {
    let model = try #require(try TestPaths.miniLM())
    let chromium = try #require(TestPaths.chromium, "chromium (scripts/setup.sh installs it)")
    let directory = try TemporaryDirectory()
    let container = directory.file("minilm.emoe")
    let converted = try CommandRunner.run(["convert", model, container, "--quiet"])
    try #require(converted.status == 0, "\(converted.stderr)")
    let page = directory.file("report.html")
    let output = try CommandRunner.run([
      "evaluate", container, "--text", "/usr/share/common-licenses/BSD", "--source", model,
      "--top-k", "16,8,4", "--baseline", "random", "--per-layer", "--report", page, "--json",
      "--quiet",
    ])
    try #require(output.status == 0, "\(output.stderr)")
    let report = try JSONValue.parse(output.stdout)
    let html = try String(contentsOfFile: page, encoding: .utf8)
    #expect(!html.contains("<script"), "no script")
    #expect(!html.contains("src=") && !html.contains("href="), "nothing loaded from elsewhere")

    // Rendered to a PNG, with Chromium's console log on stderr.
    let png = directory.file("report.png")
    let rendered = try #require(
      try ChildProcess.run(
        chromium,
        [
          "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
          "--screenshot=\(png)", "--window-size=1100,2200", "file://\(page)",
        ], timeout: 120), "chromium did not finish in 120 s")
    #expect(rendered.status == 0, "\(rendered.stderr)")
    let image = try Data(contentsOf: URL(fileURLWithPath: png))
    #expect(image.count > 20_000, "a page with charts and tables: \(image.count) bytes")
    #expect(image.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
    let consoleLines = rendered.stderr.split(separator: "\n").filter { $0.contains(":CONSOLE") }
    #expect(consoleLines.isEmpty, "console messages: \(consoleLines)")

    // The text Chromium laid out holds every figure of the JSON.
    let dom = try #require(
      try ChildProcess.run(
        chromium,
        ["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", "file://\(page)"],
        timeout: 120), "chromium did not finish in 120 s")
    try #require(dom.status == 0, "\(dom.stderr)")
    let text = dom.stdout
    var expected: [String] = []
    let results = try #require(report["results"]?.arrayValue)
    try #require(results.count == 3)
    for result in results {
      expected.append(Self.text(try #require(result["cosine"]?.doubleValue), digits: 4))
      expected.append(Self.text(try #require(result["random"]?["cosine"]?.doubleValue), digits: 4))
      let active = try #require(result["active_fraction"]?["model_ffn"]?.doubleValue)
      expected.append(Self.text(active * 100, digits: 1) + " %")
    }
    for layer in try #require(report["per_layer"]?.arrayValue) {
      expected.append(Self.text(try #require(layer["cosine"]?.doubleValue), digits: 4))
    }
    for layer in try #require(report["layers"]?.arrayValue) {
      expected.append(Self.text(try #require(layer["sse"]?.doubleValue), digits: 2))
    }
    #expect(expected.count == 3 * 3 + 4 + 2)
    for number in expected {
      #expect(text.contains(number), "the page lacks \(number)")
    }
    #expect(text.contains("Expert load") && text.contains("SHA-256"))
  }

  @Test("--report may not overwrite an input")
  func reportOverInput() throws {
    let directory = try TemporaryDirectory()
    let container = directory.file("llama.emoe")
    let converted = try CommandRunner.run([
      "convert", TestPaths.fixtures + "/models/llama-tiny", container, "--restarts", "1",
      "--quiet",
    ])
    try #require(converted.status == 0, "\(converted.stderr)")
    let ids = directory.file("ids.safetensors")
    try KernelDeterminismTests.tokenIDs([1, 7, 3, 42, 95, 8], to: ids)
    let before = try Data(contentsOf: URL(fileURLWithPath: ids))
    let output = try CommandRunner.run([
      "evaluate", container, "--tokens", ids, "--report", ids,
    ])
    #expect(output.status == 2, "\(output.stderr)")
    #expect(try Data(contentsOf: URL(fileURLWithPath: ids)) == before)
  }
}
