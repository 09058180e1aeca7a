// The one place emoe-pack imports the C library. Every module that imports EMoECore sees it
// through this re-export, so no other file needs its own `#if canImport(Glibc)`.
#if canImport(Glibc)
  @_exported import Glibc
#elseif canImport(Musl)
  @_exported import Musl
#elseif canImport(Darwin)
  @_exported import Darwin
#endif

/// The POSIX calls whose spelling differs between Linux and Darwin, each written once.
///
/// `write(2)` is here too: inside a type with its own `write` method the C function must be
/// named through its module, which differs per platform (`Glibc.write`, `Darwin.write`).
public enum POSIX {
  /// `write(2)`: writes up to `count` bytes from `buffer` to `descriptor`; the bytes written, or
  /// -1 with `errno` set.
  @inline(__always)
  public static func write(_ descriptor: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
      Glibc.write(descriptor, buffer, count)
    #elseif canImport(Musl)
      Musl.write(descriptor, buffer, count)
    #elseif canImport(Darwin)
      Darwin.write(descriptor, buffer, count)
    #endif
  }

  /// A file's last modification time (`st_mtim` on Linux, `st_mtimespec` on Darwin).
  public static func modificationTime(_ status: stat) -> timespec {
    #if canImport(Darwin)
      status.st_mtimespec
    #else
      status.st_mtim
    #endif
  }

  /// A file's last status change time (`st_ctim` on Linux, `st_ctimespec` on Darwin).
  public static func statusChangeTime(_ status: stat) -> timespec {
    #if canImport(Darwin)
      status.st_ctimespec
    #else
      status.st_ctim
    #endif
  }

  /// The process's peak resident set size in bytes (`ru_maxrss` counts KiB on Linux, bytes on
  /// Darwin); 0 when `getrusage` fails.
  public static func peakResidentBytes() -> Int {
    var usage = rusage()
    #if canImport(Darwin)
      guard getrusage(RUSAGE_SELF, &usage) == 0 else { return 0 }
      return Int(usage.ru_maxrss)
    #else
      guard getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage) == 0 else { return 0 }
      return Int(usage.ru_maxrss) * 1024
    #endif
  }

  /// A handler of a signal that receives the faulting address (`SA_SIGINFO`).
  public typealias AddressHandler =
    @convention(c) (
      Int32, UnsafeMutablePointer<siginfo_t>?, UnsafeMutableRawPointer?
    ) -> Void

  /// Installs `handler` for `signal` with `SA_SIGINFO`.
  public static func installHandler(_ signal: Int32, _ handler: AddressHandler) {
    var action = sigaction()
    #if canImport(Darwin)
      action.__sigaction_u.__sa_sigaction = handler
    #else
      action.__sigaction_handler.sa_sigaction = handler
    #endif
    action.sa_flags = SA_SIGINFO
    sigemptyset(&action.sa_mask)
    sigaction(signal, &action, nil)
  }

  /// The address that raised a SIGBUS or SIGSEGV, from the handler's `siginfo_t`; 0 without one.
  public static func faultAddress(_ info: UnsafeMutablePointer<siginfo_t>?) -> UInt {
    guard let info else { return 0 }
    #if canImport(Darwin)
      return UInt(bitPattern: info.pointee.si_addr)
    #else
      return UInt(bitPattern: info.pointee._sifields._sigfault.si_addr)
    #endif
  }

  /// Asks the kernel to drop a file's cached pages (`posix_fadvise(DONTNEED)`, which Darwin
  /// lacks: there it does nothing).
  public static func dropCachedPages(_ descriptor: Int32) {
    #if os(Linux)
      fdatasync(descriptor)
      posix_fadvise(descriptor, 0, 0, Int32(POSIX_FADV_DONTNEED))
    #else
      fsync(descriptor)
    #endif
  }
}
