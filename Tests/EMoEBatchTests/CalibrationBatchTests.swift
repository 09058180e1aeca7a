import EMoECore
import EMoEFormats
import EMoETestSupport
import Foundation
import Testing

/// A batch job with `calibration` runs the same calibration as `convert --calibration`, records
/// it, and is stale again when the calibration text changes.
@Suite("batch jobs with calibration")
struct CalibrationBatchTests {
  @Test(
    "a calibrated job converts like convert does, then is fresh until its text changes",
    .enabled(if: Oracles.python(["numpy", "safetensors"])))
  func calibratedJob() throws {
    let workspace = try BatchWorkspace(models: ["llama-tiny"])
    let tokens = workspace.file("calibration.safetensors")
    _ = try PythonOracle.check(
      """
      import numpy as np, sys
      from safetensors.numpy import save_file
      ids = np.random.default_rng(7).integers(0, 96, size=(1, 48), dtype=np.int64)
      save_file({"input_ids": ids}, sys.argv[1])
      """, arguments: [tokens])
    try workspace.writeManifest(
      """
      {"defaults": {"calibration": "calibration.safetensors", "experts": 8, "layers": "1,3"},
       "jobs": [{"input": "llama-tiny/model.safetensors", "output": "out/a.emoe",
                 "shared-neurons": 16, "top-k": 2}]}
      """)
    let first = try workspace.batchJSON()
    #expect(BatchWorkspace.statuses(first) == ["converted"])
    // The same conversion through convert gives the same bytes (options record the same path).
    let direct = workspace.file("direct.emoe")
    let convert = try CommandRunner.run([
      "convert", workspace.file("llama-tiny/model.safetensors"), direct, "--experts", "8",
      "--layers", "1,3", "--top-k", "2", "--shared-neurons", "16", "--calibration", tokens,
    ])
    #expect(convert.status == 0, "\(convert.stderr)")
    #expect(try workspace.bytes("out/a.emoe") == workspace.bytes("direct.emoe"))
    let container = try ContainerFile(path: workspace.file("out/a.emoe"))
    #expect(container.manifest.calibration != nil)
    #expect(container.layers.allSatisfy { $0.sharedCount == 16 })
    #expect(BatchWorkspace.statuses(try workspace.batchJSON()) == ["skipped"])
    try workspace.flipBit("calibration.safetensors", at: -8)
    let again = try workspace.batchJSON()
    #expect(BatchWorkspace.statuses(again) == ["converted"])
    #expect(
      again["jobs"]?[0]?["reason"]?.stringValue
        == "calibration text calibration.safetensors changed (SHA-256 differs)")
  }

  @Test("max-ppl-increase without calibration is refused at its key")
  func boundNeedsCalibration() throws {
    let workspace = try BatchWorkspace(models: ["llama-tiny"])
    try workspace.writeManifest(
      """
      {"jobs": [{"input": "llama-tiny/model.safetensors", "output": "a.emoe",
                 "max-ppl-increase": "20%"}]}
      """)
    let run = try workspace.batch()
    #expect(run.status == 2, "\(run.stderr)")
    #expect(run.stderr.contains("jobs[0].max-ppl-increase"), "\(run.stderr)")
    #expect(run.stderr.contains("needs --calibration"), "\(run.stderr)")
  }
}
