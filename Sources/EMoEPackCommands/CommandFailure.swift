import ArgumentParser
import EMoECalibrate
import EMoECore

/// Prints an error as one line on stderr and maps it to a documented exit code.
enum CommandFailure {
  /// Runs `body`, turning any thrown error into `Error: <message>` on stderr and an exit code:
  /// ``ExitStatus/failure`` for I/O errors, ``ExitStatus/invalidInput`` otherwise (a refused
  /// output path, ``EMoECore/OutputRefusal``, included).
  static func report<T>(_ body: () throws -> T) throws -> T {
    do {
      return try body()
    } catch let error as ExitCode {
      throw error
    } catch let error as CleanExit {
      throw error
    } catch let error as CalibrationError {
      printError("\(error)")
      throw error.isIOFailure ? ExitStatus.failure : ExitStatus.invalidInput
    } catch let error as FileError {
      printError("\(error)")
      throw error.refusal == nil && !error.isWrongKind
        ? ExitStatus.failure : ExitStatus.invalidInput
    } catch {
      printError("\(error)")
      throw ExitStatus.invalidInput
    }
  }

  /// Writes `message` to stderr prefixed with `Error: `.
  ///
  /// Control characters other than line breaks are escaped: messages quote names and keys from
  /// input files, which must not drive the terminal.
  static func printError(_ message: String) {
    StandardError.write("Error: \(message.escapingControlCharacters(keepingNewlines: true))\n")
  }
}
