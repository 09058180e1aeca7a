import ArgumentParser
import EMoECore
import EMoEFormats
import EMoEVerify

/// `emoe-pack verify MODEL.emoe`: proves a container against its source.
///
/// Checks its integrity, each converted layer against its source, the EMoE FFN against the
/// dense one, and the sparse path against the masked reference; with `--model`, the whole
/// model. Parsing and printing only; the checks are
/// ``EMoEVerify/Verifier``.
struct VerifyCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "verify",
    abstract: "Prove an .emoe container: integrity, permutation, equivalence, sparse = masked.",
    discussion: """
      Checks, in order: integrity (header, every tensor checksum, padding); each converted \
      layer against the source (the permutation, expert sizes, every stored row and bias bit \
      for bit or within its quantisation bound, gate rows = mean of the raw keys, passthrough \
      tensors); the EMoE FFN at k = E against the dense source FFN on --tokens random \
      unit-variance inputs (or --inputs); the sparse path against the masked reference at the \
      stored top-k (or each --top-k), with identical expert selections. --model adds the whole \
      model at each k against the dense source model.

      The source is --source, or else the recorded source files when they lie beside the \
      container with matching size and SHA-256; without one, source checks are skipped. \
      See docs/verify.md.

      Every stored tensor is also scanned for NaN and infinity, and --inputs and the outputs of \
      --model are checked for them.

      Exit codes: 0 every check passed (skipped checks do not fail); 3 integrity failure; \
      8 a stored tensor, an --inputs value or an output holds NaN or infinity; 5 permutation \
      mismatch; 6 equivalence above tolerance (or quantisation bound); 7 sparse/masked \
      disagreement. When several fail, the first of 3, 8, 5, 6, 7 wins. 2 the file is not an \
      .emoe container, needs a newer emoe-pack, or an input or option does not fit the \
      container (e.g. --source is another model, --top-k above E); 64 usage error, including \
      an option value invalid on its own (--top-k 0, --tokens 0, --tolerance -1); 1 I/O \
      failure.
      """)

  @Argument(help: "The .emoe container to check.")
  var file: String

  @Option(help: "The dense source model (default: the recorded files beside the container).")
  var source: String?

  @Option(help: "Random hidden states per layer, and the token count of --model.")
  var tokens: Int = VerificationOptions.defaultTokens

  @Option(
    name: .customLong("top-k"),
    help: "k for the sparse check and --model, e.g. 4 or 4,8,16 (default: the stored top-k).")
  var topK: String?

  @Option(help: "A safetensors file of [T, d] F32 hidden states: hidden_states.L or hidden_states.")
  var inputs: String?

  @Option(help: "Relative tolerance of float comparisons: max|Δ| / max|y_ref|.")
  var tolerance: Double = VerificationOptions.defaultTolerance

  @Flag(help: "Also compare the whole model with the dense source (BERT or LLaMA family).")
  var model = false

  @Flag(help: "Print one JSON document on stdout instead of a table.")
  var json = false

  @OptionGroup var global: GlobalOptions

  /// The `--top-k` list.
  var topKList: [Int]? {
    get throws {
      guard let topK else { return nil }
      let parts = topK.split(separator: ",", omittingEmptySubsequences: false)
      let values = parts.compactMap { Int($0.trimmingSpaces) }
      guard values.count == parts.count, !values.isEmpty, values.allSatisfy({ $0 >= 1 }) else {
        throw ValidationError("--top-k takes positive integers separated by commas, not '\(topK)'")
      }
      return values
    }
  }

  func validate() throws {
    _ = try topKList
    guard tokens >= 1 else { throw ValidationError("--tokens must be at least 1, not \(tokens)") }
    guard tolerance > 0, tolerance.isFinite else {
      // As typed: -1, not -1.0.
      let given =
        tolerance.isFinite && tolerance == tolerance.rounded() && abs(tolerance) < 1e15
        ? String(Int(tolerance)) : "\(tolerance)"
      throw ValidationError("--tolerance must be a positive number, not \(given)")
    }
  }

  func run() throws {
    _ = global.makeLogger()
    try CommandFailure.report {
      let options = VerificationOptions(
        source: source, tokens: tokens, topK: try topKList, inputs: inputs, tolerance: tolerance,
        model: model)
      let report: VerificationReport
      let progress = ProgressLine(enabled: global.showsProgress)
      do {
        var verifier = Verifier(options: options)
        verifier.progress = { step in
          progress.update(
            ProgressLine.Step(
              label: step.phase.rawValue, done: step.done, total: step.total,
              countsBytes: step.countsBytes))
        }
        report = try verifier.verify(path: file)
        progress.finish()
      } catch let error as VerificationError {
        progress.finish()
        CommandFailure.printError("\(error)")
        throw error.isIOFailure
          ? ExitStatus.failure : error.isNonFinite ? ExitStatus.nonFinite : ExitStatus.invalidInput
      }
      let exit = Self.exitStatus(report)
      if json {
        guard case .object(var members) = report.json else { return }
        members.append(JSONMember("exit_code", .integer(Int64(exit.rawValue))))
        print(JSONValue.object(members).prettySerialized())
      } else {
        print(report.text, terminator: "")
      }
      if let summary = Self.failureSummary(report) { StandardError.write(summary) }
      if exit != ExitStatus.success { throw exit }
    }
  }

  /// The one line a failed verification prints on stderr, `nil` when every check passed.
  ///
  /// It stands beside the report on stdout so that a pipeline that hides stdout still sees why
  /// the run failed: `emoe-pack: verify failed: 2 of 14 checks failed in m.emoe (first: layer 3
  /// w1: …)`. The failure named is the first of the kind that decides the exit code. It is
  /// shown even with `--quiet`: it is the error message of the failure.
  static func failureSummary(_ report: VerificationReport) -> String? {
    guard let deciding = report.decidingFailure else { return nil }
    let failures = report.failures
    var text =
      "emoe-pack: verify failed: \(failures.count) of \(report.checks.count) checks failed in "
      + report.file
    if let first = failures.first(where: { $0.kind == deciding }) {
      text += " (first: \(first.name)" + (first.detail.isEmpty ? "" : ": \(first.detail)") + ")"
    }
    return text.escapingControlCharacters() + "\n"
  }

  /// The exit code of a report: the first failed kind in precedence order decides.
  static func exitStatus(_ report: VerificationReport) -> ExitCode {
    switch report.decidingFailure {
    case nil: ExitStatus.success
    case .integrity: ExitStatus.integrityFailure
    case .finite: ExitStatus.nonFinite
    case .permutation: ExitStatus.permutationMismatch
    case .equivalence, .model: ExitStatus.equivalenceFailure
    case .sparseMasked: ExitStatus.sparseMaskedMismatch
    }
  }
}

extension Substring {
  /// The text without leading and trailing spaces.
  fileprivate var trimmingSpaces: Substring {
    var result = self
    while result.first == " " { result = result.dropFirst() }
    while result.last == " " { result = result.dropLast() }
    return result
  }
}
