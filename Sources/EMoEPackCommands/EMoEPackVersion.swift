/// The tool's version, recorded in every file it writes.
public enum EMoEPackVersion {
  /// The semantic version of this build.
  public static let string = "0.1.0"
}
