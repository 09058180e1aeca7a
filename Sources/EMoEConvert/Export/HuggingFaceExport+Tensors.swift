import EMoECore
import EMoEFormats
import EMoEModel
import EMoERunner

extension HuggingFaceExport {
  /// Every output tensor: the dense-layout export's tensors (converted FFNs in expert order)
  /// under Hugging Face names, then each converted layer's router.
  func plan(_ kind: Kind) throws(ConversionError) -> [SafeTensorsExport.Output] {
    var outputs = try SafeTensorsExport(container: container, layout: .dense).plan()
    if case .gguf(let pairs) = container.metadata {
      let llama = try llamaConfiguration(pairs)
      var renamed: [SafeTensorsExport.Output] = []
      for output in outputs { renamed.append(try huggingFaceOutput(output, llama)) }
      outputs = renamed
    }
    for record in container.layers.sorted(by: { $0.layer < $1.layer }) {
      outputs += try routerOutputs(record, kind)
    }
    var names = Set<String>()
    for output in outputs where !names.insert(output.description.name).inserted {
      throw .invalidInput(
        "\(container.path): two tensors would be written as \(output.description.name)")
    }
    return outputs
  }

  /// The LLaMA hyperparameters of a GGUF-made container, as the whole-model runner reads them.
  func llamaConfiguration(_ pairs: [(key: String, value: GGUFValue)])
    throws(ConversionError) -> LlamaConfiguration
  {
    do {
      return try LlamaConfiguration(
        gguf: pairs, tensors: container.tensorInfos, file: container.path)
    } catch {
      throw .invalidInput("\(error)")
    }
  }

  /// `output` under its Hugging Face name, with llama.cpp's rotary row order of `attn_q` and
  /// `attn_k` undone (``EMoEModel/LlamaRotaryPermutation``).
  private func huggingFaceOutput(_ output: SafeTensorsExport.Output, _ llama: LlamaConfiguration)
    throws(ConversionError) -> SafeTensorsExport.Output
  {
    let name = output.description.name
    guard let huggingFace = LlamaTensorNames.huggingFace(forGGUF: name) else {
      throw .invalidInput(
        "\(ErrorLocation(file: container.path, tensor: name)): has no place in a Hugging Face "
          + "LLaMA checkpoint, so the exported model could not load it")
    }
    if name.contains(".attn_") && name.hasSuffix(".bias") {
      throw .invalidInput(
        "\(ErrorLocation(file: container.path, tensor: name)): attention biases are not "
          + "expressible by LlamaConfig's attention_bias, which adds one to every projection")
    }
    var renamed = output
    renamed.description.name = huggingFace
    guard LlamaTensorNames.isRotaryPermuted(gguf: name) else { return renamed }
    let heads = name.contains(".attn_q.") ? llama.headCount : llama.keyValueHeadCount
    let shape = output.description.shape.dimensions
    let rowBytes = (shape.count == 2 ? shape[1] : 1) * output.description.dtype.blockBytes
    let bytes = output.bytes
    renamed.bytes = { () throws(ConversionError) in
      let stored = try bytes()
      let raw = stored.withUnsafeBytes { Array($0) }
      return .owned(LlamaRotaryPermutation.unpermute(raw, heads: heads, columns: rowBytes))
    }
    return renamed
  }

  /// A converted layer's router weight `[E, d]` F32 and its bias `[E]`, when stored.
  ///
  /// They go beside the key matrix's module, `model.layers.N.mlp.emoe.router`,
  /// `encoder.layer.N.intermediate.emoe.router`, `gpt_neox.layers.N.mlp.emoe.router` or
  /// `model.decoder.layers.N.emoe.router`. An `up_abs` layer stores none.
  private func routerOutputs(_ record: ContainerLayerRecord, _ kind: Kind)
    throws(ConversionError) -> [SafeTensorsExport.Output]
  {
    let prefix: String
    if kind.isGated {
      prefix = "model.layers.\(record.layer).mlp.emoe.router"
    } else {
      guard let w1 = record.tensors[.w1],
        let source = container.entry(named: w1)?.declaration.source?.name
      else {
        throw .invalidInput(
          "\(container.path): layer \(record.layer)'s w1 records no source tensor, so its "
            + "module name is unknown")
      }
      let parts = source.split(separator: ".", omittingEmptySubsequences: false)
      prefix = (parts.dropLast(2).map(String.init) + ["emoe", "router"]).joined(separator: ".")
    }
    var outputs: [SafeTensorsExport.Output] = []
    let reader = StoredTensors(container: container)
    let experts = record.expertCount
    let d = record.hiddenSize
    for (role, suffix, shape) in [
      (ContainerLayerRecord.Role.router, ".weight", Shape([experts, d])),
      (.routerBias, ".bias", Shape([experts])),
    ] {
      guard let name = record.tensors[role] else { continue }
      outputs.append(
        SafeTensorsExport.Output(
          description: .init(name: prefix + suffix, dtype: .f32, shape: shape),
          bytes: { () throws(ConversionError) in .owned(MatrixBytes.bytes(try reader.floats(name)))
          }
        ))
    }
    if record.router.storesRouterMatrix && outputs.isEmpty {
      throw .invalidInput(
        "\(container.path): layer \(record.layer) routes by \(record.router.rawValue) but stores "
          + "no router")
    }
    return outputs
  }
}
