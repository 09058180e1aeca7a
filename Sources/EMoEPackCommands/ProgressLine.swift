import EMoEConvert
import EMoECore

/// The one-line progress display of `convert` on a terminal: `layer 3/8 (layer 21) clustering
/// 12.4 s elapsed, ~31 s left`, rewritten in place with `\r` at most ten times a second.
///
/// It writes nothing when standard error is not a terminal, so logs and pipes stay clean.
final class ProgressLine {
  private let enabled: Bool
  private var lastWrite: ContinuousClock.Instant?
  private var lastPhase: ConversionProgress.Phase?
  private var width = 0

  /// Creates a display that is active only when standard error is a terminal.
  init(enabled: Bool = StandardError.isTerminal) {
    self.enabled = enabled
  }

  /// Shows `progress`, unless the last line was written less than 100 ms ago in the same phase.
  func update(_ progress: ConversionProgress) {
    guard enabled else { return }
    let now = ContinuousClock.now
    if let lastWrite, lastPhase == progress.phase, now - lastWrite < .milliseconds(100) { return }
    lastWrite = now
    lastPhase = progress.phase
    var text = ""
    if progress.layerCount > 0 {
      let current = min(progress.layersDone + (progress.layer == nil ? 0 : 1), progress.layerCount)
      text += "layer \(current)/\(progress.layerCount)"
      if let layer = progress.layer { text += " (model layer \(layer))" }
      text += " "
    }
    text += "\(progress.phase.rawValue), \(Self.format(progress.elapsed)) elapsed"
    if let remaining = progress.remaining { text += ", ~\(Self.format(remaining)) left" }
    let padding = String(repeating: " ", count: max(0, width - text.count))
    width = text.count
    StandardError.write("\r" + text + padding)
  }

  /// Ends the line so later output starts on a fresh one.
  func finish() {
    guard enabled, width > 0 else { return }
    StandardError.write("\r" + String(repeating: " ", count: width) + "\r")
    width = 0
  }

  /// `12.3 s`, `4 min 05 s`.
  static func format(_ seconds: Double) -> String {
    if seconds < 60 {
      let tenths = Int((seconds * 10).rounded())
      return "\(tenths / 10).\(tenths % 10) s"
    }
    let whole = Int(seconds.rounded())
    let rest = whole % 60
    return "\(whole / 60) min \(rest < 10 ? "0" : "")\(rest) s"
  }
}
