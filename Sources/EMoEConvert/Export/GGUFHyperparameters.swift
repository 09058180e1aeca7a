import EMoECore
import EMoEFormats

/// The llama.cpp architecture and hyperparameter metadata of a Hugging Face LLaMA-family
/// `config.json`, as `convert_hf_to_gguf.py` writes them, for the MoE architecture a GGUF
/// export uses.
///
/// LLaMA, Mistral and Qwen2 become llama.cpp's `llama` (Mixtral-style experts; q/k rows
/// permuted for its interleaved rotary embedding), Qwen3 becomes `qwen3moe` (NeoX rotary
/// embedding, per-head q/k norms, no permutation). Qwen2 is LLaMA with q/k/v biases, which
/// `llama` (and `ernie4_5-moe`) load as optional `attn_{q,k,v}.bias`; llama.cpp's own Qwen2 MoE
/// architecture, `qwen2moe`, is not used: it requires a sigmoid-gated shared expert and does
/// not renormalise the selected experts' weights. Qwen2's sliding-window attention
/// (`use_sliding_window`, or a `sliding_attention` entry in `layer_types`) is refused, since
/// llama.cpp's `llama` attends to every position; so are rope scaling other than `linear` and
/// any activation but SiLU.
struct GGUFHyperparameters {
  /// llama.cpp's architecture name (`general.architecture`).
  var architecture: String
  /// Whether q/k rows are reordered for llama.cpp's interleaved rotary embedding.
  var permutesRotary: Bool
  /// Query heads and key/value heads.
  var heads: Int
  var keyValueHeads: Int
  /// Rows of the embedding (and of the output head).
  var vocabularySize: Int
  /// Whether the output head is the embedding (no `output.weight` is written).
  var tiedEmbeddings: Bool
  /// The metadata pairs, architecture first.
  var pairs: [(key: String, value: GGUFValue)]

  /// Reads `config` (the container's recorded `config.json`).
  ///
  /// - Throws: ``ConversionError/invalidInput(_:)`` naming the key when the model is not one
  ///   the export can express.
  init(config: JSONValue?, file: String) throws(ConversionError) {
    func fail(_ key: String, _ reason: String) -> ConversionError {
      .invalidInput("\(ErrorLocation(file: file, key: "config.json " + key)): \(reason)")
    }
    guard let config, config.objectValue != nil else {
      throw .invalidInput("\(file): the container records no config.json of its source")
    }
    func integer(_ key: String) throws(ConversionError) -> Int {
      guard let value = config[key]?.intValue, value > 0 else {
        throw fail(key, "must be a positive integer")
      }
      return value
    }
    func number(_ key: String, in object: JSONValue? = nil) -> Double? {
      (object ?? config)[key]?.doubleValue
    }
    let modelType = config["model_type"]?.stringValue ?? ""
    switch modelType {
    case "llama", "mistral", "qwen2":
      architecture = "llama"
      permutesRotary = true
    case "qwen3":
      architecture = "qwen3moe"
      permutesRotary = false
    default:
      throw fail(
        "model_type",
        "'\(modelType)' has no GGUF export (supported: llama, mistral, qwen2, qwen3); export "
          + "with --to safetensors")
    }
    if modelType == "qwen2" { try Self.refuseSlidingWindow(config, fail) }
    if let activation = config["hidden_act"]?.stringValue, activation != "silu" {
      throw fail("hidden_act", "'\(activation)': llama.cpp's \(architecture) FFN is SiLU-gated")
    }
    if config["mlp_bias"]?.boolValue == true {
      throw fail("mlp_bias", "FFN biases have no place in llama.cpp's expert tensors")
    }
    let hidden = try integer("hidden_size")
    heads = try integer("num_attention_heads")
    keyValueHeads = config["num_key_value_heads"]?.intValue ?? heads
    vocabularySize = try integer("vocab_size")
    tiedEmbeddings = config["tie_word_embeddings"]?.boolValue ?? false
    let headSize = config["head_dim"]?.intValue ?? hidden / heads
    let rope = config["rope_scaling"] ?? config["rope_parameters"] ?? .null
    let theta =
      number("rope_theta") ?? number("rope_theta", in: config["rope_parameters"]) ?? 10000
    let arch = architecture
    var pairs: [(key: String, value: GGUFValue)] = [
      ("general.architecture", .string(arch)),
      (arch + ".block_count", .uint32(UInt32(try integer("num_hidden_layers")))),
      (arch + ".context_length", .uint32(UInt32(try integer("max_position_embeddings")))),
      (arch + ".embedding_length", .uint32(UInt32(hidden))),
      (arch + ".feed_forward_length", .uint32(UInt32(try integer("intermediate_size")))),
      (arch + ".attention.head_count", .uint32(UInt32(heads))),
      (arch + ".attention.head_count_kv", .uint32(UInt32(keyValueHeads))),
      (arch + ".rope.freq_base", .float32(Float(theta))),
      (
        arch + ".attention.layer_norm_rms_epsilon",
        .float32(Float(number("rms_norm_eps") ?? 1e-6))
      ),
      (arch + ".rope.dimension_count", .uint32(UInt32(headSize))),
      (arch + ".vocab_size", .uint32(UInt32(vocabularySize))),
    ]
    if config["head_dim"]?.intValue != nil {
      pairs.append((arch + ".attention.key_length", .uint32(UInt32(headSize))))
      pairs.append((arch + ".attention.value_length", .uint32(UInt32(headSize))))
    }
    if rope != .null {
      let kind = rope["rope_type"]?.stringValue ?? rope["type"]?.stringValue ?? "default"
      switch kind {
      case "default":
        break
      case "linear":
        guard let factor = number("factor", in: rope), factor > 0 else {
          throw fail("rope_scaling.factor", "linear rope scaling needs a positive factor")
        }
        pairs.append((arch + ".rope.scaling.type", .string("linear")))
        pairs.append((arch + ".rope.scaling.factor", .float32(Float(factor))))
      default:
        throw fail(
          "rope_scaling",
          "rope scaling '\(kind)' is not expressed by this export (only linear); export with "
            + "--to safetensors")
      }
    }
    self.pairs = pairs
  }

  /// Refuses a Qwen2 config whose layers attend through a sliding window: llama.cpp's `llama`
  /// has no sliding-window attention, so it would attend to positions the model does not.
  static func refuseSlidingWindow(
    _ config: JSONValue, _ fail: (String, String) -> ConversionError
  ) throws(ConversionError) {
    let reason =
      "llama.cpp's llama architecture, which computes this Qwen2 model in a GGUF export, has no "
      + "sliding-window attention; export with --to safetensors or --to hf"
    if config["use_sliding_window"]?.boolValue == true {
      throw fail("use_sliding_window", "true: some layers use sliding-window attention; " + reason)
    }
    let layerTypes = config["layer_types"]?.arrayValue ?? []
    let sliding = layerTypes.indices.filter { layerTypes[$0].stringValue != "full_attention" }
    if !sliding.isEmpty {
      throw fail(
        "layer_types", "layers \(sliding) are not full_attention (sliding-window); " + reason)
    }
  }
}
