import ArgumentParser
import EMoEBatch
import EMoECore
import EMoEFormats

/// `emoe-pack batch MANIFEST`: runs the conversions a JSON manifest lists, in parallel,
/// skipping those whose outputs are up to date.
///
/// Parsing and printing only; the work is ``EMoEBatch/BatchManifest`` and
/// ``EMoEBatch/BatchRunner``.
struct BatchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "batch",
    abstract: "Run the conversions a JSON manifest lists, skipping outputs that are up to date.",
    discussion: """
      MANIFEST (Formats/Batch.md) is {"defaults": {...}, "jobs": [{"input": IN, "output": \
      OUT.emoe, ...}]}; option keys are convert's long option names without dashes \
      ("top-k": 4), a job may add "verify": true, "export": [{"to": "safetensors", "output": \
      DIR}] and "depfile": FILE, and paths are relative to the manifest. The whole manifest is \
      checked (JSON, keys, value types, inputs, duplicate outputs, options against each model) \
      before any job starts.

      A job is skipped when its output exists and records this emoe-pack version, the same \
      options and the same input (file sizes, then SHA-256 of every input file, and \
      config.json); --force runs it anyway. A job's container and exports are written under \
      hidden names and published together (container last) once converted, verified and \
      exported, so a failure, Ctrl-C or SIGTERM leaves finished outputs valid, removes \
      temporary files, and a rerun does only what is left.

      Before any job runs, every output of every job is compared with every input and output \
      (links, '..' and hard links resolved, export folders included); an output that is not a \
      regular writable file, an export folder holding a checkpoint emoe-pack did not write, or \
      a depfile path Make cannot read is refused (exit 2). --force does not override this.

      --jobs N runs N jobs at once, each with max(1, cores / N) threads (OpenBLAS too); the \
      outputs are the same whatever N.

      Exit codes: 0 every job converted or skipped; 1 I/O failure reading the manifest; \
      2 the manifest is invalid (nothing ran); 4 a job failed (fail-fast: later jobs did not \
      run, unless --keep-going); 130 interrupted by Ctrl-C, 143 by SIGTERM; 64 usage error.
      """)

  @Argument(help: "The batch manifest (JSON).")
  var manifest: String

  @Option(help: "Jobs to run at once.")
  var jobs: Int = 1

  @Flag(name: .customLong("keep-going"), help: "Run the other jobs after one fails.")
  var keepGoing = false

  @Flag(name: .customLong("dry-run"), help: "Print what would run and what is up to date.")
  var dryRun = false

  @Flag(help: "Run every job, even when its output is up to date.")
  var force = false

  @Flag(help: "Print one JSON summary on stdout.")
  var json = false

  @OptionGroup var global: GlobalOptions

  func validate() throws {
    guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1, not \(jobs)") }
  }

  func run() throws {
    _ = global.makeLogger()
    TemporaryFiles.installSignalHandlers()
    let loaded: BatchManifest
    do {
      loaded = try BatchManifest.load(path: manifest)
      try loaded.checkPlans()
    } catch {
      CommandFailure.printError("\(error)")
      throw error.isIOFailure ? ExitStatus.failure : ExitStatus.invalidInput
    }
    let settings = BatchSettings(
      jobs: jobs, keepGoing: keepGoing, dryRun: dryRun, force: force, outputDigests: json)
    let runner = BatchRunner(
      manifest: loaded, settings: settings,
      tool: ContainerTool(name: "emoe-pack", version: EMoEPackVersion.string))
    let showProgress = StandardError.isTerminal && !global.quiet && !dryRun
    let summary = runner.run { progress in
      if case .finished(let result) = progress.event, result.status == .failed {
        let message = "jobs[\(result.index)] \(result.input): \(result.error ?? result.reason)"
        StandardError.write(showProgress ? "\r\u{1B}[K" : "")
        CommandFailure.printError(message)
      }
      if showProgress { StandardError.write("\r\u{1B}[K" + "batch: " + progress.line) }
    }
    if showProgress { StandardError.write("\r\u{1B}[K") }
    print(json ? summary.json.prettySerialized() : summary.text, terminator: json ? "\n" : "")
    if !summary.succeeded { throw ExitStatus.batchJobFailed }
  }
}
