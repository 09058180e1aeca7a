import EMoECore

/// How a batch runs: parallelism, failure policy, and what it may skip.
public struct BatchSettings: Sendable {
  /// Jobs run at once (`--jobs`).
  public var jobs: Int
  /// Whether to go on with the other jobs after one fails (`--keep-going`); by default no new
  /// job starts after a failure.
  public var keepGoing: Bool
  /// Whether to only report what would run and what is up to date (`--dry-run`).
  public var dryRun: Bool
  /// Whether to run every job even when its output is up to date (`--force`).
  public var force: Bool
  /// Whether to report the SHA-256 of skipped jobs' outputs too (converted ones get it free).
  public var outputDigests: Bool
  /// The cores shared among the jobs.
  public var cores: Int

  /// Creates settings; `cores` defaults to the cores online.
  public init(
    jobs: Int = 1, keepGoing: Bool = false, dryRun: Bool = false, force: Bool = false,
    outputDigests: Bool = false, cores: Int? = nil
  ) {
    self.jobs = max(1, jobs)
    self.keepGoing = keepGoing
    self.dryRun = dryRun
    self.force = force
    self.outputDigests = outputDigests
    self.cores = max(1, cores ?? Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
  }

  /// Threads each job may use (BLAS included): `max(1, cores / jobs)`, so that the jobs
  /// together do not oversubscribe the machine.
  public var threadsPerJob: Int { max(1, cores / jobs) }
}
