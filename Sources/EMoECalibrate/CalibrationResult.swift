import EMoEConvert
import EMoECore

/// What calibration chose: a grouping and top-k for each layer it converts, and the record of
/// how it chose them.
public struct CalibrationResult: Sendable {
  /// The grouping of each layer to convert; a layer not here stays dense.
  public var groupings: [Int: NeuronGrouping]
  /// The measure of the dense model on the calibration text.
  public var dense: Double
  /// The measure of the chosen conversion on the calibration text.
  public var value: Double
  /// The share of the chosen layers' FFN neurons active per token.
  public var activeFraction: Double
  /// The container's `calibration` member (Formats/EMoE.md, section 5).
  public var record: JSONValue
}
