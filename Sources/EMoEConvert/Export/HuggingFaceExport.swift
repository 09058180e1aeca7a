import EMoECore
import EMoEFormats
import EMoEModel
import EMoERunner

/// Exports an `.emoe` container as a Hugging Face model folder that transformers loads with
/// `trust_remote_code=True` and runs as EMoE.
///
/// The folder holds `model.safetensors` (every tensor under its Hugging Face name, each converted
/// FFN in expert order as ``SafeTensorsExport/Layout/dense`` writes it, plus the layer's router),
/// `config.json` (the model's configuration with `model_type` `emoe_` + its own, e.g. `emoe_qwen2`,
/// `auto_map` and the per-layer `emoe_layers`), and the modeling code `configuration_emoe.py`
/// and `modeling_emoe.py` (``HuggingFaceModelingPython``). A container made from a llama GGUF
/// gets Hugging Face names, its `attn_q`/`attn_k` rows un-permuted, F32 values (GGUF block types
/// are dequantised) and a configuration read from the GGUF metadata.
///
/// Supported: LLaMA decoders (`model_type` `llama`, or GGUF architecture `llama`), the
/// LLaMA-like decoders whose graph `run --model` computes (`mistral`, `qwen2`, `qwen3`, `gemma`,
/// `gemma2`), the plain-FFN decoders `gpt_neox` and `opt`, and BERT encoders (`bert`); anything else is refused (exit 2) rather than run with
/// the wrong graph.
public struct HuggingFaceExport {
  /// The model kinds the modeling code implements.
  public enum Kind: String, Sendable {
    /// A LLaMA decoder: `EMoELlamaForCausalLM` / `EMoELlamaModel`.
    case llama
    /// A Mistral decoder: `EMoEMistralForCausalLM` / `EMoEMistralModel`.
    case mistral
    /// A Qwen2 decoder: `EMoEQwen2ForCausalLM` / `EMoEQwen2Model`.
    case qwen2
    /// A Qwen3 decoder: `EMoEQwen3ForCausalLM` / `EMoEQwen3Model`.
    case qwen3
    /// A Gemma decoder: `EMoEGemmaForCausalLM` / `EMoEGemmaModel`.
    case gemma
    /// A Gemma 2 decoder: `EMoEGemma2ForCausalLM` / `EMoEGemma2Model`.
    case gemma2
    /// A BERT encoder: `EMoEBertModel`.
    case bert
    /// A GPT-NeoX decoder (plain FFN): `EMoEGPTNeoXForCausalLM` / `EMoEGPTNeoXModel`.
    case gptNeoX = "gpt_neox"
    /// An OPT decoder (plain FFN): `EMoEOPTForCausalLM` / `EMoEOPTModel`.
    case opt
  }

  /// What ``write(to:progress:)`` wrote.
  public struct Summary: Sendable {
    /// The folder.
    public var folder: String
    /// The model kind.
    public var kind: Kind
    /// Every file written, in writing order.
    public var files: [String]
    /// The number of tensors in the checkpoint.
    public var tensorCount: Int
    /// The checkpoint's data bytes.
    public var tensorBytes: Int
    /// The converted layers.
    public var layers: [Int]
    /// The tokenizer files copied from the source folder.
    public var tokenizerFiles: [String]

    /// The summary as JSON (`export --json`).
    public var json: JSONValue {
      .object([
        JSONMember("format", .string("hf")),
        JSONMember("folder", .string(folder)),
        JSONMember("model_type", .string(HuggingFaceExport.modelType(kind))),
        JSONMember(
          "auto_map",
          .object(HuggingFaceExport.autoMap(kind).map { JSONMember($0.key, .string($0.value)) })),
        JSONMember("converted_layers", .array(layers.map { .integer(Int64($0)) })),
        JSONMember("tensors", .integer(Int64(tensorCount))),
        JSONMember("tensor_bytes", .integer(Int64(tensorBytes))),
        JSONMember("tokenizer_files", .array(tokenizerFiles.map { .string($0) })),
        JSONMember("files", .array(files.map { .string($0) })),
      ])
    }
  }

  /// The tokenizer files copied from ``sourceFolder`` when present.
  public static let tokenizerFileNames = [
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt",
    "tokenizer.model", "merges.txt", "vocab.json",
  ]

  /// The container to export.
  public let container: ContainerFile
  /// A folder whose tokenizer files are copied beside the model, or `nil`.
  public var sourceFolder: String?
  /// The most data bytes per shard (5 GB, huggingface_hub's default).
  public var maximumShardSize: Int = 5_000_000_000

  /// Creates an export of `container`, copying tokenizer files from `sourceFolder` when given.
  public init(container: ContainerFile, sourceFolder: String? = nil) {
    self.container = container
    self.sourceFolder = sourceFolder
  }

  /// Writes the model folder `directory` (created when absent).
  ///
  /// - Throws: ``ConversionError``: `invalidInput` when the modeling code cannot express the
  ///   container (another model family, a layer it cannot run), `io` when the output is
  ///   refused or writing fails.
  ///
  /// Everything is checked before the first byte is written: the model kind, the tensors and
  /// their names, and the output folder (``ExportSafety``: no checkpoint emoe-pack export did not
  /// write, not the container, its source or the copied tokenizer files).
  public func write(
    to directory: String, progress: ((_ written: Int, _ total: Int) -> Void)? = nil
  ) throws(ConversionError) -> Summary {
    let kind = try self.kind()
    let config = try configuration(kind)
    let outputs = try plan(kind)
    let tokenizers = try tokenizerSources()
    let shards = SafeTensorsShardPlan(
      tensors: outputs.map(\.description), maximumShardSize: maximumShardSize)
    let codeFiles = [
      ("configuration_emoe.py", HuggingFaceModelingPython.configuration),
      ("modeling_emoe.py", HuggingFaceModelingPython.modeling),
    ]
    let names =
      shards.shards.map(\.fileName)
      + (shards.isSharded ? [SafeTensorsCheckpoint.indexFileName] : []) + ["config.json"]
      + codeFiles.map(\.0) + tokenizers.map { FileSystem.basename(of: $0) }
    let files = names.map { FileSystem.join(directory, $0) }
    do throws(OutputRefusal) {
      try ExportSafety.checkFolder(directory, writing: files)
      try OutputSafety.check(
        inputs: tokenizers.map { ($0, "the tokenizer file \($0)") },
        outputs: files.map { ($0, "the export output") })
    } catch {
      throw .io(.refused(error))
    }
    try ExportSafety.check(container: container, outputs: files)
    try FileSystemPaths.makeDirectory(directory)

    var writtenFiles = try SafeTensorsExport.writeTensors(
      outputs, into: directory, metadata: [("format", "pt")], maximumShardSize: maximumShardSize,
      container: container, progress: progress)
    var texts = [("config.json", Array((config.prettySerialized() + "\n").utf8))]
    texts += codeFiles.map { ($0.0, Array($0.1.utf8)) }
    for tokenizer in tokenizers {
      let bytes: [UInt8]
      do throws(FileError) {
        // The mapping must outlive the copy of its bytes.
        let file = try MappedFile(path: tokenizer)
        bytes = withExtendedLifetime(file) { Array(file.bytes) }
      } catch {
        throw .io(error)
      }
      texts.append((FileSystem.basename(of: tokenizer), bytes))
    }
    for (name, bytes) in texts {
      let path = FileSystem.join(directory, name)
      do throws(FileError) {
        let file = try AtomicFileWriter(destination: path)
        try file.write(bytes)
        try file.commit()
      } catch {
        throw .io(error)
      }
      writtenFiles.append(path)
    }
    return Summary(
      folder: directory, kind: kind, files: writtenFiles, tensorCount: outputs.count,
      tensorBytes: outputs.reduce(0) { $0 + ($1.description.byteCount ?? 0) },
      layers: container.layers.map(\.layer).sorted(),
      tokenizerFiles: tokenizers.map { FileSystem.basename(of: $0) })
  }

  /// The source files of the tokenizer files to copy (absolute or as given).
  func tokenizerSources() throws(ConversionError) -> [String] {
    guard let sourceFolder else { return [] }
    var isDirectory = false
    guard FileSystem.exists(sourceFolder, isDirectory: &isDirectory), isDirectory else {
      throw .invalidOptions("--source \(sourceFolder): is not a folder")
    }
    let found = Self.tokenizerFileNames.map { FileSystem.join(sourceFolder, $0) }.filter {
      FileSystem.exists($0)
    }
    guard !found.isEmpty else {
      throw .invalidOptions(
        "--source \(sourceFolder): holds none of "
          + Self.tokenizerFileNames.joined(separator: ", "))
    }
    return found
  }

}
