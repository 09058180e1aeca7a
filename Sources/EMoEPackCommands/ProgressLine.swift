import EMoEConvert
import EMoECore

/// The progress bar of long commands on a terminal, one line on stderr redrawn in place at most
/// ten times a second:
/// `[######..........]  38%  layer 3/8 (model layer 21) clustering  210.4 MB/s  ETA 31.0 s`.
///
/// For `convert`, while the input is hashed the bar counts its bytes; afterwards it counts
/// converted layers (the clustering dominates), and the rate is of source bytes copied or
/// converted. `verify` and `export` show a ``Step``: bytes hashed or written, or layers
/// checked. It writes nothing when standard error is not a terminal or with `--quiet`, so logs
/// and pipes stay clean, and never writes to stdout.
///
/// `@unchecked Sendable` because the verifier's progress closure must be `@Sendable`: every
/// caller reports from the thread that runs the command (the hashing callbacks included), so
/// the state is never touched from two threads.
final class ProgressLine: @unchecked Sendable {
  private let enabled: Bool
  private var lastWrite: ContinuousClock.Instant?
  private var lastPhase: String?
  private var phaseStart = ContinuousClock.now
  private var drawn = false

  /// Cells of the bar between its brackets.
  static let barWidth = 16

  /// Creates a display, active only when `enabled` (stderr is a terminal, no `--quiet`).
  init(enabled: Bool) {
    self.enabled = enabled
  }

  /// Shows `progress`, unless the last line was drawn less than 100 ms ago in the same phase.
  func update(_ progress: ConversionProgress) {
    draw(phase: progress.phase.rawValue) { _ in
      Self.render(progress, columns: StandardError.columns)
    }
  }

  /// One step of a command other than `convert`: what it does and how far it is.
  struct Step: Equatable {
    /// What is being done: `hashing source`, `writing model.safetensors`.
    var label: String
    /// Units done.
    var done: Int
    /// Units in all (0 when unknown: no bar).
    var total: Int
    /// Whether the units are bytes (then a rate is shown) or items such as layers.
    var countsBytes: Bool
  }

  /// Shows `step`, with a rate and ETA measured from when its label first appeared.
  func update(_ step: Step) {
    draw(phase: step.label) { elapsed in
      Self.render(step, elapsed: elapsed, columns: StandardError.columns)
    }
  }

  /// Draws `line(seconds in this phase)` unless the last line of the same phase was drawn under
  /// 100 ms ago.
  private func draw(phase: String, _ line: (_ elapsed: Double) -> String) {
    guard enabled else { return }
    let now = ContinuousClock.now
    if lastPhase != phase { phaseStart = now }
    if let lastWrite, lastPhase == phase, now - lastWrite < .milliseconds(100) { return }
    lastWrite = now
    lastPhase = phase
    drawn = true
    // Return to the line's start and clear it: a shorter line leaves no tail of the last one.
    StandardError.write("\r\u{1B}[K" + line((now - phaseStart) / .seconds(1)))
  }

  /// The line for `step` after `elapsed` seconds in it, cut to `columns - 1` characters.
  static func render(_ step: Step, elapsed: Double, columns: Int) -> String {
    var text: String
    if step.total > 0 {
      let fraction = Double(step.done) / Double(step.total)
      text = bar(fraction) + " " + percent(fraction) + "  " + step.label
      text +=
        step.countsBytes
        ? " \(ByteCount.format(step.done))/\(ByteCount.format(step.total))"
        : " \(step.done)/\(step.total)"
      if elapsed > 0.05, step.done > 0 {
        let rate = Double(step.done) / elapsed
        if step.countsBytes { text += "  \(ByteCount.format(rate))/s" }
        let remaining = Double(step.total - step.done) / rate
        if remaining.isFinite { text += "  ETA \(format(remaining))" }
      }
    } else {
      text = step.label + "…"
    }
    let limit = max(1, columns - 1)
    return text.count > limit ? String(text.prefix(limit)) : text
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
