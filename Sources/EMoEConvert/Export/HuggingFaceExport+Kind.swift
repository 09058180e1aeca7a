import EMoECore
import EMoEFormats

extension HuggingFaceExport.Kind {
  /// The prefix of the family's transformers classes (`Qwen2` of `Qwen2ForCausalLM`).
  var classPrefix: String {
    switch self {
    case .llama: "Llama"
    case .mistral: "Mistral"
    case .qwen2: "Qwen2"
    case .qwen3: "Qwen3"
    case .gemma: "Gemma"
    case .gemma2: "Gemma2"
    case .bert: "Bert"
    case .gptNeoX: "GPTNeoX"
    case .opt: "OPT"
    }
  }

  /// Whether the FFN is gated (LLaMA's `gate_proj`/`up_proj`/`down_proj`); GPT-NeoX, OPT and
  /// BERT have a plain FFN with biases.
  var isGated: Bool {
    switch self {
    case .gptNeoX, .opt, .bert: false
    default: true
    }
  }

  /// Whether the model is a decoder run by `EMoE<Family>ForCausalLM` (else BERT's encoder).
  var isDecoder: Bool { self != .bert }

  /// The class of the config's `architectures`.
  var architecture: String {
    "EMoE" + classPrefix + (isDecoder ? "ForCausalLM" : "Model")
  }
}

extension HuggingFaceExport {
  /// Why a family that shares LLaMA's tensor names is still refused, or `nil`.
  static func refusal(modelType: String) -> String? {
    switch modelType {
    case "gemma3", "gemma3_text":
      "Gemma 3 alternates local and global attention with two rotary bases and normalises "
        + "queries and keys, which run --model does not compute"
    default: nil
    }
  }

  /// The model kind, or a refusal naming the supported ones.
  func kind() throws(ConversionError) -> Kind {
    let supported =
      "supported: LLaMA decoders (config.json model_type 'llama', or a GGUF of architecture "
      + "'llama'), the LLaMA-like decoders 'mistral', 'qwen2', 'qwen3', 'gemma' and 'gemma2', "
      + "the plain-FFN decoders 'gpt_neox' and 'opt', and BERT encoders (model_type 'bert')"
    let kind: Kind
    if case .gguf(let pairs) = container.metadata {
      let architecture =
        pairs.first { $0.key == "general.architecture" }?.value.stringValue ?? "unknown"
      guard architecture == "llama" else {
        throw .invalidInput(
          "\(container.path): GGUF architecture '\(architecture)' has no transformers modeling "
            + "code here; \(supported)")
      }
      kind = .llama
    } else {
      let modelType = container.config?["model_type"]?.stringValue ?? "none"
      if let reason = Self.refusal(modelType: modelType) {
        throw .invalidInput(
          "\(container.path): model_type '\(modelType)' is not exported: \(reason), so the "
            + "exported model's logits could not be checked; \(supported)")
      }
      guard let known = Kind(rawValue: modelType) else {
        throw .invalidInput(
          "\(container.path): model_type '\(modelType)' has no transformers modeling code here "
            + "(only families whose whole graph run --model computes are exported); \(supported)")
      }
      kind = known
    }
    for record in container.layers {
      let expected: ContainerLayerRecord.Family = kind.isGated ? .glu : .plain
      guard record.family == expected else {
        throw .invalidInput(
          "\(container.path): layer \(record.layer) is a \(record.family.rawValue) FFN, but a "
            + "\(kind.rawValue) model's FFN is \(expected.rawValue)")
      }
    }
    return kind
  }

  /// The `model_type` of the exported configuration: `emoe_` and the source's own.
  static func modelType(_ kind: Kind) -> String { "emoe_" + kind.rawValue }

  /// The `auto_map` of the exported configuration.
  static func autoMap(_ kind: Kind) -> [(key: String, value: String)] {
    let prefix = "EMoE" + kind.classPrefix
    var map = [
      ("AutoConfig", "configuration_emoe.\(prefix)Config"),
      ("AutoModel", "modeling_emoe.\(prefix)Model"),
    ]
    if kind.isDecoder {
      map.append(("AutoModelForCausalLM", "modeling_emoe.\(prefix)ForCausalLM"))
    }
    return map
  }
}
