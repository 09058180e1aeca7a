import EMoEConvert
import EMoECore

/// The progress bar of `convert` on a terminal, one line on stderr redrawn in place at most ten
/// times a second:
/// `[######..........]  38%  layer 3/8 (model layer 21) clustering  210.4 MB/s  ETA 31.0 s`.
///
/// While the input is hashed the bar counts its bytes; afterwards it counts converted layers
/// (the clustering dominates), and the rate is of source bytes copied or converted. It writes
/// nothing when standard error is not a terminal or with `--quiet`, so logs and pipes stay
/// clean, and never writes to stdout.
final class ProgressLine {
  private let enabled: Bool
  private var lastWrite: ContinuousClock.Instant?
  private var lastPhase: ConversionProgress.Phase?
  private var drawn = false

  /// Cells of the bar between its brackets.
  static let barWidth = 16

  /// Creates a display, active only when `enabled` (stderr is a terminal, no `--quiet`).
  init(enabled: Bool) {
    self.enabled = enabled
  }

  /// Shows `progress`, unless the last line was drawn less than 100 ms ago in the same phase.
  func update(_ progress: ConversionProgress) {
    guard enabled else { return }
    let now = ContinuousClock.now
    if let lastWrite, lastPhase == progress.phase, now - lastWrite < .milliseconds(100) { return }
    lastWrite = now
    lastPhase = progress.phase
    drawn = true
    // Return to the line's start and clear it: a shorter line leaves no tail of the last one.
    StandardError.write("\r\u{1B}[K" + Self.render(progress, columns: StandardError.columns))
  }

  /// Clears the line so later output starts on a fresh one.
  func finish() {
    guard enabled, drawn else { return }
    StandardError.write("\r\u{1B}[K")
    drawn = false
  }

  /// The line for `progress`, cut to `columns - 1` characters so that it never wraps (a wrapped
  /// line cannot be redrawn with `\r`).
  static func render(_ progress: ConversionProgress, columns: Int) -> String {
    let fraction: Double
    let remaining: Double?
    if progress.phase == .hashing {
      fraction =
        progress.bytesTotal > 0 ? Double(progress.bytesDone) / Double(progress.bytesTotal) : 0
      remaining = progress.bytesPerSecond.map {
        Double(max(0, progress.bytesTotal - progress.bytesDone)) / $0
      }
    } else {
      fraction = progress.fraction
      remaining = progress.remaining
    }
    var text = bar(fraction) + " " + percent(fraction) + "  "
    if progress.layerCount > 0, progress.phase != .hashing {
      let current = min(progress.layersDone + (progress.layer == nil ? 0 : 1), progress.layerCount)
      text += "layer \(current)/\(progress.layerCount)"
      if let layer = progress.layer { text += " (model layer \(layer))" }
      text += " "
    }
    text += progress.phase.rawValue
    if progress.phase == .hashing, progress.bytesTotal > 0 {
      text += " \(ByteCount.format(progress.bytesDone))/\(ByteCount.format(progress.bytesTotal))"
    }
    if let rate = progress.bytesPerSecond { text += "  \(ByteCount.format(rate))/s" }
    if let remaining, remaining.isFinite { text += "  ETA \(format(remaining))" }
    let limit = max(1, columns - 1)
    return text.count > limit ? String(text.prefix(limit)) : text
  }

  /// `[######..........]`: filled cells for the fraction done, in `0...1`.
  static func bar(_ fraction: Double) -> String {
    let clamped = fraction.isFinite ? min(1, max(0, fraction)) : 0
    let filled = Int((clamped * Double(barWidth)).rounded(.down))
    return "[" + String(repeating: "#", count: filled)
      + String(repeating: ".", count: barWidth - filled) + "]"
  }

  /// ` 38%`, right-aligned to four characters; 100% only when done.
  static func percent(_ fraction: Double) -> String {
    let clamped = fraction.isFinite ? min(1, max(0, fraction)) : 0
    let value = "\(Int((clamped * 100).rounded(.down)))%"
    return String(repeating: " ", count: max(0, 4 - value.count)) + value
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
