/// A benchmark's input is not what it needs (a manifest entry of the wrong size, say).
struct BenchError: Error, CustomStringConvertible {
  /// What is wrong, naming the file.
  var description: String

  /// Creates an error with its message.
  init(_ description: String) { self.description = description }
}
