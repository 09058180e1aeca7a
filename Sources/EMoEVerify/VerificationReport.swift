import EMoECore
import EMoEFormats

/// Everything `emoe-pack verify` found about one container: the source it compared with, the
/// inputs it used, and every check in the order run.
public struct VerificationReport: Sendable {
  /// The container checked.
  public var file: String
  /// The source model compared with, or `nil` when none was available.
  public var source: String?
  /// How the source was found, or why none was used.
  public var sourceNote: String
  /// What the FFN checks were fed, for the report.
  public var inputsNote: String
  /// The relative tolerance applied.
  public var tolerance: Double
  /// Every check, in the order run.
  public var checks: [VerificationCheck]

  /// Creates a report.
  public init(
    file: String, source: String?, sourceNote: String, inputsNote: String, tolerance: Double,
    checks: [VerificationCheck]
  ) {
    self.file = file
    self.source = source
    self.sourceNote = sourceNote
    self.inputsNote = inputsNote
    self.tolerance = tolerance
    self.checks = checks
  }

  /// Whether no check failed (skipped checks do not fail a report).
  public var ok: Bool { !checks.contains(where: \.failed) }

  /// The checks that failed.
  public var failures: [VerificationCheck] { checks.filter(\.failed) }

  /// The kinds with a failed check, in precedence order (``VerificationKind/exitKind``).
  public var failedKinds: [VerificationKind] {
    Array(Set(failures.map(\.kind.exitKind))).sorted()
  }

  /// The failed kind that decides the exit code: the first in precedence order.
  public var decidingFailure: VerificationKind? { failedKinds.first }

  /// The report as one JSON object.
  public var json: JSONValue {
    var members = [
      JSONMember("file", .string(file)),
      JSONMember("source", source.map { .string($0) } ?? .null),
      JSONMember("source_note", .string(sourceNote)),
      JSONMember("inputs", .string(inputsNote)),
      JSONMember("tolerance", .number(tolerance)),
      JSONMember("checks", .array(checks.map(\.json))),
      JSONMember("ok", .bool(ok)),
      JSONMember("failed_kinds", .array(failedKinds.map { .string($0.rawValue) })),
    ]
    members.append(
      JSONMember(
        "counts",
        .object([
          JSONMember("passed", .integer(Int64(checks.filter { $0.status == .passed }.count))),
          JSONMember("failed", .integer(Int64(failures.count))),
          JSONMember("skipped", .integer(Int64(checks.filter { $0.status == .skipped }.count))),
        ])))
    return .object(members)
  }

  /// A readable report: the source and inputs, then the checks grouped by kind (intact
  /// integrity checks folded into one line), then the verdict.
  public var text: String {
    var lines = ["verify \(file)"]
    lines.append("source: " + (source.map { "\($0) (\(sourceNote))" } ?? "none (\(sourceNote))"))
    lines.append("inputs: \(inputsNote); tolerance \(NumberText.short(tolerance))")
    let nameWidth = min(28, checks.map(\.name.count).max() ?? 10)
    func row(_ check: VerificationCheck) -> String {
      let name = check.name.count > nameWidth ? String(check.name.prefix(nameWidth)) : check.name
      let result =
        switch check.status {
        case .passed: "ok     "
        case .failed: "FAILED "
        case .skipped: "skipped"
        }
      return "  " + name + String(repeating: " ", count: nameWidth - name.count) + "  " + result
        + "  " + check.detail
    }
    for kind in VerificationKind.allCases {
      let group = checks.filter { $0.kind == kind }
      guard !group.isEmpty else { continue }
      lines.append(kind.title)
      if kind == .integrity {
        let failed = group.filter(\.failed)
        let tensors = group.filter { $0.name.hasPrefix("tensor:") }.count
        let summary = "header, \(tensors) tensor checksums, padding"
        if failed.isEmpty {
          lines.append(row(.passed(.integrity, "\(group.count) checks", detail: summary)))
        } else {
          lines += failed.map(row)
          lines.append("  (\(group.count - failed.count) other integrity checks ok)")
        }
        continue
      }
      lines += group.map(row)
    }
    let passed = checks.filter { $0.status == .passed }.count
    let skipped = checks.filter { $0.status == .skipped }.count
    let skippedText = skipped > 0 ? ", \(skipped) skipped" : ""
    if let deciding = decidingFailure {
      lines.append(
        "\(file): verify FAILED (\(deciding.rawValue)): \(failures.count) of \(checks.count) "
          + "checks failed\(skippedText)")
    } else {
      lines.append("\(file): verify OK (\(passed) checks passed\(skippedText))")
    }
    return lines.joined(separator: "\n") + "\n"
  }
}
