import EMoECore
import EMoEFormats
import EMoETestSupport
import Foundation
import Testing

/// The `.emoe` inputs committed under `Fuzz/regressions/container/` (docs/reliability.md,
/// "Fuzzing"), each of which crashed `inspect`, `inspect --check` or `verify` before its fix.
///
/// Each is read here as the fuzz target reads it (open, every integrity check, `inspect
/// --check`'s report) in the ordinary test build, so a regression fails `swift test` too, not
/// only the sanitizer build; the named cases also check which error refuses them.
@Suite("Fuzz regression inputs")
struct FuzzRegressionTests {
  static let folder = TestPaths.repositoryRoot + "/Fuzz/regressions/container"

  /// Opens the regression input `name` and returns the error it is refused with, if any.
  static func openError(_ name: String) -> ContainerError? {
    do {
      _ = try ContainerFile(path: folder + "/" + name)
      return nil
    } catch {
      return error
    }
  }

  @Test("every committed container regression input is refused or checked without a crash")
  func replayAll() throws {
    let names = try FileManager.default.contentsOfDirectory(atPath: Self.folder)
      .filter { $0.hasSuffix(".emoe") }.sorted()
    #expect(names.count >= 4)
    for name in names {
      let path = Self.folder + "/" + name
      // Any thrown error is an accepted outcome; a trap or failed allocation ends the process.
      if let report = try? ContainerIntegrity.verify(path: path) {
        _ = report.text
      }
      if let inspection = try? Inspection.report(path: path, verifyChecksums: true) {
        _ = inspection.text
      }
    }
  }

  @Test("a layer with n = 2^63 - 1 is an invalid manifest, not an overflow trap")
  func layerSizeAtIntMax() {
    let error = Self.openError("layer-n-int-max.emoe")
    #expect(error?.kind == .invalidManifest)
    #expect(error?.location.key == "layers[0].expert_sizes")
  }

  @Test("source file sizes that add up past 2^63 - 1 are refused, not summed into a trap")
  func sourceSizesOverflow() {
    let error = Self.openError("source-sizes-sum-overflow.emoe")
    #expect(error?.kind == .invalidManifest)
    #expect(error?.location.key == "source.files[1].size")
  }

  @Test("raw lengths that add up past 2^63 - 1 are refused, not summed into a trap")
  func rawLengthsOverflow() {
    let error = Self.openError("raw-lengths-sum-overflow.emoe")
    #expect(error?.kind == .invalidManifest)
    // Either check may fire first: the per-tensor claim bound or the sum's overflow check.
    let text = error?.description ?? ""
    #expect(text.contains("raw lengths add up") || text.contains("raw_length"), "\(text)")
  }

  @Test("a compressed tensor claiming 2^59 bytes is refused at open, before any allocation")
  func compressedClaim() {
    let error = Self.openError("compressed-raw-length-claim.emoe")
    #expect(error?.kind == .invalidManifest)
    #expect(error?.location.tensor == "h.0.attn.c_attn.bias")
    #expect(
      error?.description.contains("576460752303423488") == true, "\(String(describing: error))")
  }
}
