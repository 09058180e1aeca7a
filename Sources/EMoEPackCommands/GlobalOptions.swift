import ArgumentParser
import Logging

/// Options every subcommand accepts.
struct GlobalOptions: ParsableArguments {
  @Flag(name: .shortAndLong, help: "Log debug details to stderr.")
  var verbose = false

  @Flag(name: .shortAndLong, help: "Log only errors.")
  var quiet = false

  /// A logger writing to stderr at the level the flags ask for.
  func makeLogger(label: String = "emoe-pack") -> Logger {
    LogSetup.bootstrapOnce()
    var logger = Logger(label: label)
    logger.logLevel = verbose ? .debug : (quiet ? .error : .info)
    return logger
  }
}

/// Bootstraps swift-log once per process, sending every log line to stderr.
enum LogSetup {
  private static let once: Void = {
    LoggingSystem.bootstrap { label in StreamLogHandler.standardError(label: label) }
  }()

  static func bootstrapOnce() { _ = once }
}
