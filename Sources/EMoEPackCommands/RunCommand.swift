import ArgumentParser
import EMoEConvert
import EMoECore
import EMoEVerify
import Logging

/// `emoe-pack run MODEL --inputs X --out Y`: evaluates an FFN layer or a whole model.
///
/// Runs one converted FFN layer (or the whole model) on the given inputs and writes the
/// outputs as safetensors. Parsing and printing only;
/// the work is ``EMoEVerify/Evaluator``.
struct RunCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "run",
    abstract: "Evaluate one FFN layer or the whole model on inputs; write the outputs.",
    discussion: """
      MODEL is an .emoe container, or with --dense a source checkpoint (safetensors or GGUF).

      FFN (default): --inputs holds hidden_states [T, d] (F32, F16, BF16 or F64); --out gets \
      output [T, d] F32, and for a container also expert_ids [T, k] I32 and router_scores \
      [T, E] F32. A container runs the sparse EMoE path at --top-k (default: the stored \
      top-k) on --layer (default: its first converted layer); --dense needs --layer.

      --model: --inputs holds input_ids [T] or [1, T] (I32 or I64) and optionally \
      token_type_ids; --out gets hidden_states [T, d] (final hidden states) and, for decoders, \
      logits [T, V]. A container's model is its passthrough tensors with every converted \
      layer's FFN replaced by its EMoE FFN at --top-k. See docs/verify.md.

      The output file is written atomically. It must be a new path or a regular writable file, \
      and neither MODEL (or a file of a dense checkpoint) nor --inputs. A stored tensor of the \
      layers run, an input or an output that holds NaN or infinity is an error naming it, and \
      nothing is written. Exit codes: 0 success; 1 I/O failure; 2 an input or option does not \
      fit the model (--layer not converted, --top-k above E), or --out is refused; 8 NaN or \
      infinity in a stored tensor, an input or an output; 64 usage error, including an option \
      value invalid on its own (--top-k 0, --layer -1).
      """)

  @Argument(help: "The .emoe container, or with --dense a source checkpoint.")
  var model: String

  @Option(help: "The safetensors file of inputs.")
  var inputs: String

  @Option(help: "The safetensors file to write.")
  var out: String

  @Option(help: "The layer whose FFN to run.")
  var layer: Int?

  @Option(name: .customLong("top-k"), help: "Experts per token (default: the stored top-k).")
  var topK: Int?

  @Flag(help: "MODEL is the dense source checkpoint.")
  var dense = false

  @Flag(name: .customLong("model"), help: "Run the whole model on token ids.")
  var wholeModel = false

  @OptionGroup var global: GlobalOptions

  func validate() throws {
    if let topK, topK < 1 { throw ValidationError("--top-k must be at least 1, not \(topK)") }
    if let layer, layer < 0 { throw ValidationError("--layer must be at least 0, not \(layer)") }
    if dense && topK != nil { throw ValidationError("--top-k applies to an .emoe container") }
    if wholeModel && layer != nil { throw ValidationError("--layer applies to one FFN") }
  }

  func run() throws {
    let logger = global.makeLogger()
    try CommandFailure.report {
      let request = EvaluationRequest(
        model: model, inputs: inputs, dense: dense, layer: layer, topK: topK,
        wholeModel: wholeModel)
      // A dense source that cannot be opened is reported by the evaluation itself.
      let sourceFiles = dense ? (try? ModelInput.dependencies(of: model)) ?? [] : []
      try OutputSafety.check(
        inputs: ([model] + sourceFiles).map { ($0, "the model \($0)") }
          + [(inputs, "the inputs \(inputs)")],
        outputs: [(out, "--out")])
      do {
        let result = try Evaluator.evaluate(request)
        try Evaluator.write(result, to: out)
        logger.info(
          "\(result.summary): wrote \(result.tensors.map(\.name).joined(separator: ", ")) to \(out)"
        )
      } catch let error as VerificationError {
        CommandFailure.printError("\(error)")
        throw error.isIOFailure
          ? ExitStatus.failure : error.isNonFinite ? ExitStatus.nonFinite : ExitStatus.invalidInput
      }
    }
  }
}
