/// Writes a file atomically: bytes go to a temporary file beside the destination, which is
/// fsynced and renamed into place only by ``commit()``.
///
/// An interrupted or abandoned write never leaves a file at the destination: the temporary file
/// is removed by ``abort()``, by `deinit`, and by ``TemporaryFiles/removeAll()`` from a signal
/// handler. Writes are buffered, so many small writes cost little.
///
/// Only regular files are written: an existing destination that is a device node, FIFO,
/// socket, folder or symbolic link, or that is write-protected, is refused (``OutputSafety``),
/// when the writer is made and again just before the rename. A new file gets mode `0666` less
/// the umask, as any created file does; a replaced file keeps its permission bits.
public final class AtomicFileWriter {
  /// The final path of the file.
  public let destination: String
  /// The temporary path being written.
  public let temporaryPath: String
  /// Bytes written so far (the position of the next byte).
  public private(set) var position: Int = 0

  private var descriptor: Int32
  private var buffer: [UInt8] = []
  private let bufferCapacity: Int
  private var finished = false

  /// Creates the temporary file for `destination`.
  ///
  /// - Parameters:
  ///   - destination: where the file appears on ``commit()``.
  ///   - bufferCapacity: bytes gathered before each `write` system call.
  public init(destination: String, bufferCapacity: Int = 1 << 20) throws(FileError) {
    self.destination = destination
    self.bufferCapacity = bufferCapacity
    do throws(OutputRefusal) {
      try OutputSafety.checkReplaceable(destination)
    } catch {
      throw .refused(error)
    }
    let directory = FileSystem.directory(of: destination)
    let base = destination.split(separator: "/").last.map(String.init) ?? "output"
    let (fd, path) = try Self.createTemporary(directory: directory, base: base, for: destination)
    descriptor = fd
    temporaryPath = path
    if let mode = OutputSafety.preservedMode(of: destination) { fchmod(fd, mode) }
    buffer.reserveCapacity(bufferCapacity)
  }

  /// Creates `directory/.base.tmp-XXXXXX` with `O_EXCL` and mode `0666`, so the kernel applies
  /// the umask (and a folder's default ACL) exactly as for any new file; `mkstemp` would make
  /// it `0600`.
  private static func createTemporary(directory: String, base: String, for destination: String)
    throws(FileError) -> (Int32, String)
  {
    let letters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    var generator = SystemRandomNumberGenerator()
    for _ in 0..<100 {
      let suffix = String((0..<6).map { _ in letters[Int(generator.next() % 62)] })
      let path = "\(directory)/.\(base).tmp-\(suffix)"
      // Registered before it exists, so that a signal arriving while it is created removes it.
      TemporaryFiles.register(path)
      let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
      if fd >= 0, TemporaryFiles.isTerminating {
        // The signal handler is about to end the process: remove the file and wait for it, so
        // that no failure reported here can finish the process with another status first.
        close(fd)
        unlink(path)
        TemporaryFiles.parkUntilExit()
      }
      if fd >= 0 {
        TestHooks.pauseAfterTemporaryRegistered()
        return (fd, path)
      }
      let failure = errno
      TemporaryFiles.unregister(path)
      if failure != EEXIST {
        errno = failure
        break
      }
    }
    throw .fromErrno(destination, "create a temporary file")
  }

  deinit {
    if !finished { discard() }
  }

  /// Appends `bytes`.
  public func write(_ bytes: UnsafeRawBufferPointer) throws(FileError) {
    position += bytes.count
    if buffer.count + bytes.count <= bufferCapacity {
      buffer.append(contentsOf: bytes)
      return
    }
    try flush()
    if bytes.count >= bufferCapacity {
      try writeAll(bytes)
    } else {
      buffer.append(contentsOf: bytes)
    }
  }

  /// Appends the bytes of `array`.
  public func write(_ array: [UInt8]) throws(FileError) {
    let failure = array.withUnsafeBytes { raw in catching { () throws(FileError) in try write(raw) }
    }
    if let failure { throw failure }
  }

  /// Appends the raw in-memory bytes of `values` (little-endian on every supported platform).
  public func write<T: BitwiseCopyable>(contentsOf values: [T]) throws(FileError) {
    let failure = values.withUnsafeBytes { raw in
      catching { () throws(FileError) in try write(raw) }
    }
    if let failure { throw failure }
  }

  /// Appends `count` zero bytes.
  public func writeZeros(_ count: Int) throws(FileError) {
    guard count > 0 else { return }
    try write([UInt8](repeating: 0, count: count))
  }

  /// Appends zero bytes until ``position`` is a multiple of `alignment`.
  public func pad(toMultipleOf alignment: Int) throws(FileError) {
    let remainder = position % alignment
    if remainder != 0 { try writeZeros(alignment - remainder) }
  }

  /// Replaces bytes already written at `offset` with `bytes` (a `pwrite`), leaving ``position``
  /// where it is: lets a format reserve room for a header and fill it in once the data is out.
  ///
  /// The range `offset ..< offset + bytes.count` must lie inside what was written so far.
  public func overwrite(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(FileError) {
    precondition(offset >= 0 && offset <= position - bytes.count, "overwrite past the end")
    try flush()
    var done = 0
    while done < bytes.count {
      let written = pwrite(
        descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
      if written < 0 {
        if errno == EINTR { continue }
        throw .fromErrno(destination, "write")
      }
      done += written
    }
  }

  /// Flushes, fsyncs and renames the temporary file to the destination, then fsyncs the folder
  /// so the rename itself is durable.
  public func commit() throws(FileError) {
    precondition(!finished, "commit after finish")
    try flush()
    guard fsync(descriptor) == 0 else {
      let error = FileError.fromErrno(destination, "fsync")
      discard()
      throw error
    }
    do throws(OutputRefusal) {
      // Checked again: the destination may have been replaced since the writer was made.
      try OutputSafety.checkReplaceable(destination)
    } catch {
      discard()
      throw .refused(error)
    }
    close(descriptor)
    finished = true
    guard rename(temporaryPath, destination) == 0 else {
      let error = FileError.fromErrno(destination, "rename the temporary file to")
      unlink(temporaryPath)
      TemporaryFiles.unregister(temporaryPath)
      throw error
    }
    TemporaryFiles.unregister(temporaryPath)
    let directoryDescriptor = open(FileSystem.directory(of: destination), O_RDONLY)
    if directoryDescriptor >= 0 {
      fsync(directoryDescriptor)
      close(directoryDescriptor)
    }
  }

  /// Removes the temporary file; nothing appears at the destination.
  public func abort() {
    guard !finished else { return }
    discard()
  }

  private func discard() {
    close(descriptor)
    unlink(temporaryPath)
    TemporaryFiles.unregister(temporaryPath)
    finished = true
  }

  private func flush() throws(FileError) {
    guard !buffer.isEmpty else { return }
    let failure = buffer.withUnsafeBytes { raw in
      catching { () throws(FileError) in try writeAll(raw) }
    }
    if let failure { throw failure }
    buffer.removeAll(keepingCapacity: true)
  }

  private func writeAll(_ bytes: UnsafeRawBufferPointer) throws(FileError) {
    var offset = 0
    while offset < bytes.count {
      let written = POSIX.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
      if written < 0 {
        if errno == EINTR { continue }
        throw .fromErrno(destination, "write")
      }
      offset += written
    }
  }

  private func catching(_ body: () throws(FileError) -> Void) -> FileError? {
    do {
      try body()
      return nil
    } catch {
      return error
    }
  }
}
