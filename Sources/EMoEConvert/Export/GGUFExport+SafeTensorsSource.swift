import EMoECore
import EMoEFormats
import EMoEModel

extension GGUFExport {
  /// How a container converted from a Hugging Face safetensors checkpoint becomes a GGUF: the
  /// architecture and metadata (``GGUFHyperparameters``, ``GGUFTokenizerMetadata``), and for
  /// every stored tensor its GGUF name (``LlamaTensorNames``) and how its bytes change.
  ///
  /// Matrices keep their dtype (F32, F16 or BF16, all GGUF tensor types llama.cpp computes
  /// with); 1-D tensors (norms, biases) become F32, as `convert_hf_to_gguf.py` writes them.
  /// For the `llama` architecture the rows of `q_proj` and `k_proj` (weights and biases) are
  /// permuted per head (``LlamaRotaryPermutation``); the tied output head is not written.
  struct SafeTensorsSource {
    var hyperparameters: GGUFHyperparameters
    /// Stored name → GGUF name, for every stored tensor that is written.
    var ggufNames: [String: String]
    /// GGUF name → stored name.
    var storedNames: [String: String]
    /// The metadata pairs (architecture, hyperparameters, tokenizer).
    var metadata: [(key: String, value: GGUFValue)]
  }

  /// The source description of a container made from a safetensors checkpoint.
  ///
  /// The tokenizer is read from ``sourceFolder``, or when that is `nil` from the container's
  /// own folder.
  func safeTensorsSource() throws(ConversionError) -> SafeTensorsSource {
    let file = container.path
    let hyperparameters = try GGUFHyperparameters(config: container.config, file: file)
    var ggufNames: [String: String] = [:]
    var storedNames: [String: String] = [:]
    // Converted FFNs are stored under the container's own names and written by the export's
    // expert path; everything else is passthrough under its Hugging Face name.
    for name in container.tensorInfos.map(\.name) {
      if hyperparameters.tiedEmbeddings && name == "lm_head.weight" { continue }
      guard let gguf = LlamaTensorNames.gguf(forHuggingFace: name) else {
        throw .invalidInput(
          "\(ErrorLocation(file: file, tensor: name)): has no place in llama.cpp's "
            + "\(hyperparameters.architecture) architecture")
      }
      ggufNames[name] = gguf
      storedNames[gguf] = name
    }
    var isDirectory = false
    let folder =
      sourceFolder.map { path in
        FileSystem.exists(path, isDirectory: &isDirectory) && isDirectory
          ? path : FileSystem.directory(of: path)
      } ?? FileSystem.directory(of: file)
    let tokenizer = try GGUFTokenizerMetadata.pairs(
      folder: folder, vocabularySize: hyperparameters.vocabularySize, config: container.config)
    var metadata = hyperparameters.pairs + tokenizer
    if hyperparameters.architecture != "llama", let record = container.layers.first {
      // qwen3moe sizes experts by expert_feed_forward_length (else n_ff / k).
      metadata.append(
        (
          hyperparameters.architecture + ".expert_feed_forward_length",
          .uint32(UInt32(record.intermediateSize / max(1, record.expertCount)))
        ))
    }
    return SafeTensorsSource(
      hyperparameters: hyperparameters, ggufNames: ggufNames, storedNames: storedNames,
      metadata: metadata)
  }

  /// The output for passthrough tensor `entry` of a safetensors-made container, or `nil` when
  /// it is not written (the tied output head).
  func safeTensorsOutput(
    _ entry: ContainerTensorEntry, _ source: SafeTensorsSource, _ reader: StoredTensors
  ) throws(ConversionError) -> Output? {
    guard let gguf = source.ggufNames[entry.name] else { return nil }
    let name = entry.name
    let location = ErrorLocation(file: container.path, tensor: name)
    guard [DType.f32, .f16, .bf16].contains(entry.dtype),
      entry.declaration.encoding == .plain
    else {
      throw .invalidInput(
        "\(location): \(entry.dtype.rawValue) is not F32, F16 or BF16, the dtypes this export "
          + "copies")
    }
    let rank = entry.shape.rank
    let hyper = source.hyperparameters
    var heads = 0
    if hyper.permutesRotary && LlamaTensorNames.isRotaryPermuted(gguf: gguf) {
      heads = gguf.contains(".attn_q.") ? hyper.heads : hyper.keyValueHeads
      let rows = entry.shape.dimensions.first ?? 0
      guard heads > 0, rows % (2 * heads) == 0 else {
        throw .invalidInput(
          "\(location): \(rows) rows do not split into \(heads) heads of an even size")
      }
    }
    let dtype = rank == 1 ? DType.f32 : entry.dtype
    return Output(
      plan: .init(name: gguf, dtype: dtype, shape: entry.shape),
      bytes: { () throws(ConversionError) in
        var bytes = rank == 1 ? MatrixBytes.bytes(try reader.floats(name)) : try reader.bytes(name)
        if heads > 0 {
          let rowBytes = bytes.count / max(1, entry.shape.dimensions.first ?? 1)
          bytes = LlamaRotaryPermutation.permute(bytes, heads: heads, columns: rowBytes)
        }
        return bytes
      })
  }
}
