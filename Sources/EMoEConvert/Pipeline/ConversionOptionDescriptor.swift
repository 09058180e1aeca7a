/// One conversion option in every vocabulary it is spelled in: the `convert` long option (also a
/// batch manifest key) and the name the container's `options` records, with its help.
///
/// ``ConversionOptions/descriptors`` is the one table of them: the batch manifest reader takes
/// its keys from it, `convert` its option names and help, and a test checks that the command,
/// the batch keys and the JSON form list exactly these options.
public struct ConversionOptionDescriptor: Sendable, Equatable {
  /// What values the option takes.
  public enum Kind: Sendable, Equatable {
    /// An integer.
    case integer
    /// A string in the option's own syntax (`--layers`, `--ffn-pattern`).
    case text
    /// One of the listed names.
    case choice([String])
    /// A flag (`true`/`false` in a manifest).
    case flag
    /// `--compress[=LEVEL]`: a flag with an optional zstd level.
    case compression
  }

  /// The long option without dashes (`top-k`), which is also the batch manifest key.
  public var longName: String
  /// The member of the canonical JSON form, or `nil` for an option the output does not depend
  /// on (`threads`).
  public var jsonName: ConversionOptions.CodingKeys?
  /// What values the option takes.
  public var kind: Kind
  /// The option's one-line help.
  public var help: String

  /// Creates a descriptor.
  public init(
    _ longName: String, json jsonName: ConversionOptions.CodingKeys?, _ kind: Kind, help: String
  ) {
    self.longName = longName
    self.jsonName = jsonName
    self.kind = kind
    self.help = help
  }
}
