import ArgumentParser
import EMoEConvert
import EMoECore
import EMoEFormats

/// `emoe-pack export IN.emoe OUT --to safetensors|gguf|hf`: writes a converted model back out in a
/// format other tools load.
struct ExportCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "export",
    abstract: "Export an .emoe container as a Hugging Face safetensors folder or a llama.cpp GGUF.",
    discussion: """
      --to safetensors writes the folder OUT with model.safetensors (sharded above 5 GB) and a \
      config.json carrying the EMoE settings (n_expert, topk, mode, select, split_start_layer, \
      split_every_layer and an "emoe" object). Tensors keep their original names with each \
      converted FFN permuted into expert order; --layout experts writes stacked expert tensors \
      and gates instead. Quantised experts are dequantised to F32.

      --to gguf (containers made from a llama GGUF, or from a LLaMA, Mistral, Qwen2 or Qwen3 \
      safetensors checkpoint whose tokenizer.json is in --source) writes llama.cpp's MoE layout: \
      the 'llama' architecture (or 'qwen3moe') when every layer was converted without a shared \
      block, else 'ernie4_5-moe' (leading unconverted layers dense, a shared block or a later \
      unconverted layer as the shared expert). With the default --top-k E it reproduces the \
      dense model; with a smaller --top-k the router is the average-key gate scaled so the \
      selected experts' weights are within 1.6 % of EMoE's 1 (see docs/export.md). Gate and up \
      experts keep their block type; ffn_down_exps is requantised along n/E (--precision, \
      --down-type; default Q5_1 for a 4-bit source).

      --to hf (LLaMA decoders, from safetensors or a llama GGUF; Mistral, Qwen2, Qwen3, Gemma \
      and Gemma 2 decoders; BERT encoders) writes the folder OUT with model.safetensors, \
      config.json (auto_map, emoe_layers) and the modeling code configuration_emoe.py and \
      modeling_emoe.py: transformers' AutoModelForCausalLM \
      (AutoModel for BERT) loads it with trust_remote_code=True and runs it as EMoE. --source \
      FOLDER copies its tokenizer files; --json prints what was written.

      Nothing is written over the container, over the source it was converted from, or over \
      a file that is not a regular writable file; a safetensors export goes into a new or empty \
      folder or the folder of an earlier export that holds no checkpoint file this export \
      would not write (a stale index or shard), never into a source checkpoint folder.

      Exit codes: 0 success; 1 I/O failure; 2 the container cannot be exported as asked, or \
      the output is refused; 64 usage error.
      """)

  @Argument(help: "The .emoe container.")
  var input: String

  @Argument(help: "The output: a folder for safetensors and hf, a file for gguf.")
  var output: String

  @Option(name: .customLong("to"), help: "The output format.")
  var format: ExportFormat

  @Option(help: "safetensors only: dense (original names) or experts (stacked expert tensors).")
  var layout: SafeTensorsExport.Layout = .dense

  @Option(
    name: .customLong("top-k"),
    help: "gguf only: experts llama.cpp selects per token (default: E, the dense-exact export).")
  var topK: Int?

  @Option(
    help: ArgumentHelp(
      "hf and gguf: the source checkpoint folder whose tokenizer files are copied (hf) or whose "
        + "tokenizer.json is converted (gguf, a container made from safetensors; default: the "
        + "container's folder).", valueName: "folder"))
  var source: String?

  @Flag(help: "hf only: print a JSON summary of what was written.")
  var json = false

  @Option(
    help:
      "gguf only: source (experts keep block types, ffn_down_exps requantised), f32-down or f32.")
  var precision: GGUFExport.Precision = .source

  @Option(
    name: .customLong("down-type"),
    help: "gguf only, with --precision source: the ffn_down_exps type (default: by source type).")
  var downType: DownTypeArgument?

  @OptionGroup var global: GlobalOptions

  func validate() throws {
    if format != .hf && json {
      throw ValidationError("--json applies to --to hf only")
    }
    if format != .safetensors && layout != .dense {
      throw ValidationError("--layout applies to --to safetensors only")
    }
    if format != .gguf && topK != nil {
      throw ValidationError("--top-k applies to --to gguf only")
    }
    if format == .safetensors && source != nil {
      throw ValidationError("--source applies to --to hf and --to gguf only")
    }
    if format != .gguf && (precision != .source || downType != nil) {
      throw ValidationError("--precision and --down-type apply to --to gguf only")
    }
    if downType != nil && precision != .source {
      throw ValidationError("--down-type needs --precision source")
    }
    if let topK, topK < 1 { throw ValidationError("--top-k must be at least 1, not \(topK)") }
  }

  func run() throws {
    let logger = global.makeLogger()
    let progress = ProgressLine(enabled: global.showsProgress)
    defer { progress.finish() }
    func show(_ label: String) -> (Int, Int) -> Void {
      { written, total in
        progress.update(
          ProgressLine.Step(label: label, done: written, total: total, countsBytes: true))
      }
    }
    try CommandFailure.report {
      do {
        let container: ContainerFile
        do throws(ContainerError) {
          container = try ContainerFile(path: input)
        } catch {
          throw ConversionError.container(error)
        }
        switch format {
        case .safetensors:
          let export = SafeTensorsExport(container: container, layout: layout)
          let files = try export.write(to: output, progress: show("writing tensors"))
          progress.finish()
          logger.info("wrote \(files.joined(separator: ", "))")
        case .gguf:
          let export = GGUFExport(
            container: container, expertsUsed: topK, sourceFolder: source, precision: precision,
            downType: downType?.dtype)
          let unclustered = try export.write(to: output, progress: show("writing tensors"))
          progress.finish()
          let target = try export.target()
          if target == .ernie {
            logger.info(
              "layers \(unclustered) were not converted: dense (ernie4_5-moe leading layers or shared expert)"
            )
          } else if !unclustered.isEmpty {
            logger.info(
              "layers \(unclustered) were not converted: split into experts of consecutive neurons")
          }
          logger.info("wrote \(output) (\(target.rawValue))")
        case .hf:
          let summary = try HuggingFaceExport(container: container, sourceFolder: source).write(
            to: output, progress: show("writing tensors"))
          progress.finish()
          if json { print(summary.json.prettySerialized()) }
          logger.info("wrote \(summary.files.joined(separator: ", "))")
        }
      } catch let error as ConversionError {
        progress.finish()
        CommandFailure.printError("\(error)")
        throw error.isIOFailure ? ExitStatus.failure : ExitStatus.invalidInput
      }
    }
  }
}
