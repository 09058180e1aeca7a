import EMoEBatch
import EMoEConvert
import EMoECore
import EMoETestSupport
import Testing

/// `shared-neurons` and `calibration` as batch manifest keys: the same values as
/// `convert --shared-neurons N|P% --calibration FILE`, and the same refusal without calibration.
@Suite("batch keys shared-neurons and calibration")
struct SharedNeuronsBatchTests {
  @Test("N and \"P%\" are read; other values are refused naming the key")
  func values() throws {
    var options = ConversionOptions()
    try options.set(longName: "shared-neurons", to: .integer(16))
    #expect(options.sharedNeurons == .count(16))
    try options.set(longName: "shared-neurons", to: .string("12.5%"))
    #expect(options.sharedNeurons == .fraction(0.125))
    try options.set(longName: "calibration", to: .string("calibration.txt"))
    #expect(options.calibration == "calibration.txt")
    try options.set(longName: "shared-neurons", to: .null)
    #expect(options.sharedNeurons == nil)
    for (value, phrase) in [
      (JSONValue.integer(-1), "at least 0"), (.string("12"), "an integer or a string \"P%\""),
      (.string("100%"), "0% <= P% < 100%"), (.bool(true), "an integer or a string"),
    ] {
      let error = #expect(throws: LongOptionError.self) {
        try options.set(longName: "shared-neurons", to: value)
      }
      #expect(error?.reason.contains(phrase) == true, "\(value): \(String(describing: error))")
    }
  }

  @Test("a job with shared-neurons but no calibration is refused at its shared-neurons key")
  func needsCalibration() throws {
    let workspace = try BatchWorkspace(models: ["bert-tiny"])
    let refused = #expect(throws: BatchManifestError.self) {
      try BatchManifest(
        text: Array(
          """
          {"jobs": [{"input": "bert-tiny/model.safetensors", "output": "a.emoe",
                     "shared-neurons": 8}]}
          """.utf8), path: workspace.file("batch.json"))
    }
    #expect(refused?.location.key == "jobs[0].shared-neurons", "\(String(describing: refused))")
    #expect(refused?.reason.contains("needs --calibration") == true)
    let accepted = try BatchManifest(
      text: Array(
        """
        {"defaults": {"calibration": "text.txt"},
         "jobs": [{"input": "bert-tiny/model.safetensors", "output": "a.emoe",
                   "shared-neurons": "10%"}]}
        """.utf8), path: workspace.file("batch.json"))
    #expect(accepted.jobs[0].options.sharedNeurons == .fraction(0.1))
    #expect(accepted.jobs[0].options.json["shared_neurons"] == .string("10%"))
  }
}
