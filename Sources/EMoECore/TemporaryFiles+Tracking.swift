extension TemporaryFiles {
  /// Records a finished but not yet published file (one a caller will rename into place later)
  /// so that ``removeAll()`` deletes it if a signal arrives first.
  ///
  /// ``AtomicFileWriter`` registers its own temporary files; this is for callers that stage a
  /// complete file under a hidden name, check it, and only then rename it (`emoe-pack batch`).
  /// A staging folder may be tracked too: it is removed after the files, once they are gone.
  public static func track(_ path: String) { register(path) }

  /// Forgets a path recorded with ``track(_:)`` once it was renamed into place or removed.
  public static func forget(_ path: String) { unregister(path) }
}
