import EMoECore

/// The integrity checks of `emoe-pack verify`: the header (magic, version, fields, checksum,
/// manifest, tensor placement), every tensor's checksum (and decompression), and the padding.
///
/// Together they detect any flipped bit anywhere in the file: the header checksum covers every
/// byte before the data, each tensor's checksum covers its bytes, and padding must be zero.
/// Later checks (permutation, equivalence) append to the same list.
public enum ContainerIntegrity {
  /// Runs every integrity check on the container at `path`.
  ///
  /// - Throws: ``ContainerError`` only when the file cannot be checked at all: it cannot be
  ///   opened (`io`), is not a container (`notAContainer`), or needs a newer reader
  ///   (`unsupportedVersion`, `unknownRequiredFeature`). Any other problem is a failed check.
  public static func verify(path: String) throws(ContainerError) -> ContainerIntegrityReport {
    let container: ContainerFile
    do throws(ContainerError) {
      container = try ContainerFile(path: path)
    } catch {
      switch error.kind {
      case .io, .notAContainer, .unsupportedVersion, .unknownRequiredFeature:
        throw error
      default:
        return ContainerIntegrityReport(
          file: path, checks: [.failed(.integrity, "header", detail: error.description)]
        )
      }
    }
    return verify(container)
  }

  /// Runs the data checks on an opened (so header-valid) container.
  public static func verify(_ container: ContainerFile) -> ContainerIntegrityReport {
    var checks: [VerificationCheck] = [.passed(.integrity, "header")]
    checks += container.verifyChecksums()
    checks.append(container.verifyPadding())
    return ContainerIntegrityReport(file: container.path, checks: checks)
  }
}

/// The results of ``ContainerIntegrity``'s checks on one file.
public struct ContainerIntegrityReport: Sendable, Equatable {
  /// The file checked.
  public var file: String
  /// Every check, in the order run.
  public var checks: [VerificationCheck]

  /// Creates a report.
  public init(file: String, checks: [VerificationCheck]) {
    self.file = file
    self.checks = checks
  }

  /// Whether every check passed.
  public var ok: Bool { checks.allSatisfy(\.ok) }

  /// The checks that failed.
  public var failures: [VerificationCheck] { checks.filter(\.failed) }

  /// `{"file": …, "checks": [{"name": …, "ok": …, "detail"?: …}], "ok": …}`.
  public var json: JSONValue {
    .object([
      JSONMember("file", .string(file)),
      JSONMember(
        "checks",
        .array(
          checks.map { check in
            var members = [
              JSONMember("name", .string(check.name)), JSONMember("ok", .bool(check.ok)),
            ]
            if !check.ok { members.append(JSONMember("detail", .string(check.detail))) }
            return .object(members)
          })),
      JSONMember("ok", .bool(ok)),
    ])
  }

  /// A table of the checks (failures with their reason) and a closing verdict line.
  public var text: String {
    let width = min(72, checks.map(\.name.count).max() ?? 5)
    func pad(_ text: String) -> String {
      text + String(repeating: " ", count: max(0, width - text.count))
    }
    var lines = [pad("check") + "  result"]
    for check in checks {
      let name =
        check.name.count > width ? String(check.name.prefix(width - 1)) + "…" : check.name
      lines.append(pad(name) + "  " + (check.ok ? "ok" : "FAILED: " + check.detail))
    }
    let failed = failures.count
    lines.append(
      failed == 0
        ? "\(file): integrity OK (\(checks.count) checks passed)"
        : "\(file): integrity FAILED (\(failed) of \(checks.count) checks failed)")
    return lines.joined(separator: "\n") + "\n"
  }
}
