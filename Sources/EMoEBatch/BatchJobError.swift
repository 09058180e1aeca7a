/// Why a job failed, as one message (the conversion's own message when it was the converter).
struct BatchJobError: Error, CustomStringConvertible {
  /// The message.
  var description: String

  init(_ description: String) { self.description = description }
}
