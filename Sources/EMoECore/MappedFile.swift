/// A read-only memory map of a whole file, made with `mmap` itself.
///
/// Foundation's `.mappedIfSafe` reads the whole file into memory on Linux, so formats map their
/// inputs through this type instead. Pages are read by the kernel only when touched.
public final class MappedFile: Sendable {
  /// The path the file was opened from.
  public let path: String
  /// The file's size in bytes.
  public let count: Int
  nonisolated(unsafe) private let base: UnsafeRawPointer?

  /// Maps the file at `path` read-only.
  ///
  /// The file is opened with `O_NONBLOCK` and checked with `fstat` before anything is read, so a
  /// FIFO, device or socket is refused at once instead of blocking for a writer. The mapping is
  /// recorded with ``MappedFileFaults`` so that a file shrinking while it is read is reported by
  /// name rather than killing the process with a bare SIGBUS.
  ///
  /// - Throws: ``FileError`` when the file cannot be opened or mapped, or (with
  ///   ``FileError/wrongKind`` set) when it is not a regular file.
  public init(path: String) throws(FileError) {
    self.path = path
    let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
    guard descriptor >= 0 else { throw .fromErrno(path, "open") }
    defer { close(descriptor) }
    var status = stat()
    guard fstat(descriptor, &status) == 0 else { throw .fromErrno(path, "stat") }
    guard (status.st_mode & S_IFMT) == S_IFREG else {
      throw .notRegular(path, kind: FileSystem.kindName(mode: status.st_mode))
    }
    count = Int(status.st_size)
    if count == 0 {
      base = nil
      return
    }
    let address = mmap(nil, count, PROT_READ, MAP_PRIVATE, descriptor, 0)
    guard let address, address != MAP_FAILED else { throw .fromErrno(path, "map") }
    base = UnsafeRawPointer(address)
    MappedFileFaults.register(base: UnsafeRawPointer(address), count: count, path: path)
  }

  deinit {
    if let base {
      MappedFileFaults.unregister(base: base)
      munmap(UnsafeMutableRawPointer(mutating: base), count)
    }
  }

  /// All bytes of the file.
  public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

  /// The bytes in `offset ..< offset + count`; the range must lie inside the file.
  public func bytes(offset: Int, count: Int) -> UnsafeRawBufferPointer {
    precondition(offset >= 0 && count >= 0 && offset <= self.count - count, "range outside file")
    guard let base else { return UnsafeRawBufferPointer(start: nil, count: 0) }
    return UnsafeRawBufferPointer(start: base + offset, count: count)
  }

  /// Tells the kernel that the range will be read sequentially soon.
  ///
  /// Advise the whole file once rather than one sub-range per tensor: advising sub-ranges splits
  /// the kernel's mapping, after which ``adviseDone(offset:count:)`` no longer frees pages.
  public func adviseSequential(offset: Int = 0, count: Int? = nil) {
    guard let base else { return }
    let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
    let start = offset / pageSize * pageSize
    let length = (count ?? self.count - offset) + (offset - start)
    _ = madvise(UnsafeMutableRawPointer(mutating: base + start), length, MADV_SEQUENTIAL)
  }

  /// Tells the kernel that the pages of the range are no longer needed, so resident memory can
  /// drop while a long file is streamed.
  public func adviseDone(offset: Int, count: Int) {
    guard let base, count > 0 else { return }
    let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
    let start = (offset + pageSize - 1) / pageSize * pageSize
    let end = (offset + count) / pageSize * pageSize
    guard end > start else { return }
    _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, MADV_DONTNEED)
  }
}
