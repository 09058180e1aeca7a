import EMoECore
import EMoETestSupport
import Foundation
import Testing

/// `verify` on real conversions by `emoe-pack convert`.
///
/// all-MiniLM-L6-v2 (last two layers, E = 16; F32, int8 and Q8_0 experts) and SmolLM2-135M (two
/// layers, E = 64; Q4_1 gate and up rows moved bit for bit, the down matrix decoded to F32). Each verify is timed.
@Suite("emoe-pack verify on MiniLM and SmolLM2")
struct RealModelVerifyTests {
  /// Converts, then verifies with `--json`; returns the report and the verify's seconds.
  static func convertAndVerify(
    _ model: String, _ name: String, convert: [String], verify: [String] = [],
    in directory: TemporaryDirectory
  ) throws -> (report: JSONValue, seconds: Double) {
    let output = directory.file(name + ".emoe")
    let converted = try CommandRunner.run(
      ["convert", model, output, "--restarts", "1", "--quiet"] + convert)
    try #require(converted.status == 0, "convert \(name): \(converted.stderr)")
    let started = Date()
    let result = try CommandRunner.run(["verify", "--json", output, "--source", model] + verify)
    let seconds = Date().timeIntervalSince(started)
    print("verify \(name): \(String(format: "%.2f", seconds)) s")
    #expect(result.status == 0, "\(name): \(result.stdout.suffix(3000)) \(result.stderr)")
    return (try JSONValue.parse(result.stdout), seconds)
  }

  static func check(_ report: JSONValue, _ name: String) -> JSONValue? {
    report["checks"]?.arrayValue?.first { $0["name"]?.stringValue == name }
  }

  @Test(
    "MiniLM: the default layers with F32 experts, and one layer as int8 and as Q8_0",
    .enabled(if: Oracles.miniLM))
  func miniLM() throws {
    let model = try #require(try TestPaths.miniLM())
    let directory = try TemporaryDirectory()
    let (report, _) = try Self.convertAndVerify(
      model, "minilm", convert: [], verify: ["--model"], in: directory)
    #expect(report["ok"] == .bool(true))
    for layer in [4, 5] {
      let w2 = Self.check(report, "layer \(layer) w2")
      #expect(w2?["measures"]?["values"]?.stringValue == "exact")
      let sizes = Self.check(report, "layer \(layer) expert sizes")?["measures"]?["experts"]
      #expect(sizes?.intValue == 16)
      let k = Self.check(report, "layer \(layer) k=E")?["measures"]?["max_rel_error"]
      #expect((k?.doubleValue ?? 1) <= 1e-5)
    }
    let cosine = Self.check(report, "model k=E")?["measures"]?["min_cosine"]?.doubleValue ?? 0
    #expect(cosine > 0.99999, "cosine \(cosine)")
    for quantize in ["int8", "q8_0"] {
      let (quantised, _) = try Self.convertAndVerify(
        model, "minilm-" + quantize, convert: ["--layers", "5", "--quantize", quantize],
        in: directory)
      let w1 = Self.check(quantised, "layer 5 w1")?["measures"]
      #expect(w1?["values"]?.stringValue == "lossy")
      let use = w1?["bound_use"]?.doubleValue ?? 2
      #expect(use > 0.9 && use <= 1, "\(quantize) w1 bound use \(use)")
      let equivalence = Self.check(quantised, "layer 5 k=E")?["measures"]
      #expect((equivalence?["bound_use"]?.doubleValue ?? 2) < 1)
    }
  }

  @Test(
    "SmolLM2: Q4_1 rows exact, F32 down lossless, k = E equals dense, whole model too",
    .enabled(if: Oracles.smolLM2))
  func smolLM2() throws {
    let model = try #require(try TestPaths.smolLM2())
    let directory = try TemporaryDirectory()
    let (report, _) = try Self.convertAndVerify(
      model, "smollm2", convert: ["--layers", "20,22"], verify: ["--model", "--top-k", "16"],
      in: directory)
    #expect(report["ok"] == .bool(true))
    for layer in [20, 22] {
      #expect(Self.check(report, "layer \(layer) wg")?["measures"]?["values"] == .string("exact"))
      #expect(Self.check(report, "layer \(layer) wu")?["measures"]?["values"] == .string("exact"))
      #expect(
        Self.check(report, "layer \(layer) wd")?["measures"]?["values"] == .string("lossless"))
      #expect(
        Self.check(report, "layer \(layer) expert sizes")?["measures"]?["experts"] == .integer(64))
    }
    let full = Self.check(report, "model k=E")?["measures"]
    #expect(full?["argmax_agreement"]?.doubleValue == 1)
    #expect((full?["min_cosine"]?.doubleValue ?? 0) > 0.99999)
    #expect(Self.check(report, "model k=16") != nil)
  }
}
