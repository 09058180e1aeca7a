import EMoECore
import Logging

/// A swift-log handler that writes the plain lines of a Unix tool to stderr:
/// `emoe-pack: wrote out.emoe (1.1 MB) in 1.2 s`, `emoe-pack: warning: …`, `emoe-pack: error: …`.
///
/// swift-log's stream handler prefixes a timestamp, the level and the source module, which is
/// noise for a person reading a terminal and breaks scripts that grep the lines. Metadata is
/// shown only at the debug levels (`--verbose`), appended as `key=value`.
struct PlainLogHandler: LogHandler {
  /// The program name that opens every line.
  let label: String
  var logLevel: Logger.Level = .info
  var metadata: Logger.Metadata = [:]
  /// Where lines go; stderr unless a test captures them.
  let sink: @Sendable (String) -> Void

  /// A handler writing to stderr.
  init(label: String, sink: @escaping @Sendable (String) -> Void = { StandardError.write($0) }) {
    self.label = label
    self.sink = sink
  }

  subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  func log(event: LogEvent) {
    sink(line(level: event.level, message: event.message, metadata: event.metadata))
  }

  /// The line written for one message, newline included.
  ///
  /// Control characters other than line breaks are escaped: messages quote names from input
  /// files, which must not drive the terminal.
  func line(level: Logger.Level, message: Logger.Message, metadata extra: Logger.Metadata?)
    -> String
  {
    var text = "\(label): "
    switch level {
    case .warning: text += "warning: "
    case .error, .critical: text += "error: "
    case .trace, .debug, .info, .notice: break
    }
    text += message.description
    if level <= .debug {
      let merged = metadata.merging(extra ?? [:]) { $1 }
      for key in merged.keys.sorted() {
        text += " \(key)=\(merged[key].map { "\($0)" } ?? "")"
      }
    }
    return text.escapingControlCharacters(keepingNewlines: true) + "\n"
  }
}
