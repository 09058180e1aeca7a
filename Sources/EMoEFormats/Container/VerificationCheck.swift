import EMoECore

/// The outcome of one check of a container, with the figures it measured.
///
/// The one result type of every check: the integrity checks of ``ContainerIntegrity`` (which
/// `inspect --check` runs too) and the layout, source, equivalence and model checks of
/// `emoe-pack verify` (EMoEVerify) all report it, so a batch, `inspect` and `verify` read the
/// same records.
public struct VerificationCheck: Sendable, Equatable {
  /// Whether the check passed, failed, or could not run.
  public enum Status: String, Sendable, Equatable {
    /// The check ran and passed.
    case passed
    /// The check ran and failed.
    case failed
    /// The check did not run (no source, or the file is damaged); it neither passes nor fails.
    case skipped
  }

  /// What the check is about.
  public var kind: VerificationKind
  /// A short name, such as `header`, `tensor:<name>`, `layer 10 w1` or `model k=4`.
  public var name: String
  /// The converted layer it concerns, if any.
  public var layer: Int?
  /// The outcome.
  public var status: Status
  /// One line for the table: the measured figures when it passed, the reason otherwise.
  public var detail: String
  /// The measured figures, for `--json`.
  public var measures: [JSONMember]

  /// Creates a check result.
  public init(
    kind: VerificationKind, name: String, layer: Int? = nil, status: Status, detail: String = "",
    measures: [JSONMember] = []
  ) {
    self.kind = kind
    self.name = name
    self.layer = layer
    self.status = status
    self.detail = detail
    self.measures = measures
  }

  /// A passed check.
  public static func passed(
    _ kind: VerificationKind, _ name: String, layer: Int? = nil, detail: String = "",
    measures: [JSONMember] = []
  ) -> VerificationCheck {
    VerificationCheck(
      kind: kind, name: name, layer: layer, status: .passed, detail: detail, measures: measures)
  }

  /// A failed check.
  public static func failed(
    _ kind: VerificationKind, _ name: String, layer: Int? = nil, detail: String,
    measures: [JSONMember] = []
  ) -> VerificationCheck {
    VerificationCheck(
      kind: kind, name: name, layer: layer, status: .failed, detail: detail, measures: measures)
  }

  /// A skipped check.
  public static func skipped(
    _ kind: VerificationKind, _ name: String, layer: Int? = nil, reason: String
  ) -> VerificationCheck {
    VerificationCheck(kind: kind, name: name, layer: layer, status: .skipped, detail: reason)
  }

  /// Whether the check failed.
  public var failed: Bool { status == .failed }

  /// Whether the check did not fail (it passed, or it was skipped): the `ok` of its JSON.
  public var ok: Bool { status != .failed }

  /// `{"kind", "name", "layer"?, "status", "ok", "detail"?, "measures"?}`.
  public var json: JSONValue {
    var members = [JSONMember("kind", .string(kind.rawValue)), JSONMember("name", .string(name))]
    if let layer { members.append(JSONMember("layer", .integer(Int64(layer)))) }
    members.append(JSONMember("status", .string(status.rawValue)))
    members.append(JSONMember("ok", .bool(ok)))
    if !detail.isEmpty { members.append(JSONMember("detail", .string(detail))) }
    if !measures.isEmpty { members.append(JSONMember("measures", .object(measures))) }
    return .object(members)
  }
}
