import ArgumentParser

/// A comma-separated list of integers on the command line: `1,3,10,30`.
struct IntegerList: ExpressibleByArgument, Sendable {
  /// The integers in the order given.
  var values: [Int]

  /// Creates a list from values.
  init(_ values: [Int]) { self.values = values }

  init?(argument: String) {
    var values: [Int] = []
    for part in argument.split(separator: ",", omittingEmptySubsequences: false) {
      guard let value = Int(part) else { return nil }
      values.append(value)
    }
    guard !values.isEmpty else { return nil }
    self.values = values
  }

  var defaultValueDescription: String { values.map(String.init).joined(separator: ",") }
}
