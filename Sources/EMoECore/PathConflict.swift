/// Two claims on one file where at least one writes it, found by ``PathClaims``.
public struct PathConflict: Error, Sendable, Equatable {
  /// The output path, as given.
  public var path: String
  /// How the output is named (`--depfile`, `jobs[1].output`).
  public var label: String
  /// The other path claiming the same file, as given.
  public var otherPath: String
  /// How the other claim is named (`the input model.safetensors`, `jobs[0].input`).
  public var otherLabel: String
  /// Whether the other claim reads the file (else it writes it too).
  public var otherReads: Bool

  /// Creates a conflict.
  public init(path: String, label: String, otherPath: String, otherLabel: String, otherReads: Bool)
  {
    self.path = path
    self.label = label
    self.otherPath = otherPath
    self.otherLabel = otherLabel
    self.otherReads = otherReads
  }

  /// The conflict as a refusal of the output: `out.d: --depfile would overwrite the input ...`.
  public var refusal: OutputRefusal {
    let relation =
      otherReads ? "would overwrite \(otherLabel)" : "is the same file as \(otherLabel)"
    let spelled = otherPath == path || otherLabel.hasSuffix(otherPath) ? "" : " (\(otherPath))"
    return OutputRefusal(path: path, reason: "\(label) \(relation)\(spelled); nothing was written")
  }
}
