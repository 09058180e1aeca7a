import EMoECore

/// A model or FFN that the reference runner cannot run: missing tensors, shapes that do not
/// fit the configuration, or options out of range.
public struct RunnerError: Error, Sendable, Equatable, CustomStringConvertible {
  /// Where the problem is: the file and tensor or key, when it comes from a file.
  public var location: ErrorLocation?
  /// What is wrong, such as "expected shape [384, 1536], found [1536, 384]".
  public var problem: String

  /// Creates an error.
  public init(_ problem: String, location: ErrorLocation? = nil) {
    self.problem = problem
    self.location = location
  }

  /// Creates an error about `tensor` in the file `file`.
  public init(_ problem: String, file: String, tensor: String? = nil, key: String? = nil) {
    self.init(problem, location: ErrorLocation(file: file, tensor: tensor, key: key))
  }

  /// A readable message: `file: tensor 'name': problem`, or the problem alone.
  public var description: String {
    guard let location else { return problem }
    return "\(location): \(problem)"
  }
}
