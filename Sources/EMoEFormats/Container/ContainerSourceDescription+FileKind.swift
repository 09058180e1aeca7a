extension ContainerSourceDescription {
  /// The kind of the recorded source (its `format`), or `nil` for a name this reader does not
  /// know.
  public var kind: FileKind? { FileKind(rawValue: format) }
}
