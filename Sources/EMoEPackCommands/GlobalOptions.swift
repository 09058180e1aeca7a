import ArgumentParser
import EMoECore
import Logging

/// Options every subcommand accepts.
struct GlobalOptions: ParsableArguments {
  @Flag(name: .shortAndLong, help: "Also print details (per-layer figures) on stderr.")
  var verbose = false

  @Flag(name: .shortAndLong, help: "Print only errors on stderr: no progress, no summary lines.")
  var quiet = false

  /// The level the flags ask for: debug with `--verbose`, errors only with `--quiet`.
  var logLevel: Logger.Level { verbose ? .debug : (quiet ? .error : .info) }

  /// A logger writing plain `emoe-pack: …` lines to stderr at the level the flags ask for.
  func makeLogger(label: String = "emoe-pack") -> Logger {
    var logger = Logger(label: label) { PlainLogHandler(label: $0) }
    logger.logLevel = logLevel
    return logger
  }

  /// Whether a progress display may be drawn: stderr is a terminal and `--quiet` is not given.
  var showsProgress: Bool { !quiet && StandardError.isTerminal }
}
