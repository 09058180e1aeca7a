import EMoECore
import EMoEFormats
import EMoERunner

extension HuggingFaceExport {
  /// The exported `config.json`.
  ///
  /// The source's configuration (for a GGUF-made container, a LlamaConfig made from its
  /// metadata) with `model_type` `emoe_` + its own (`emoe_llama`, `emoe_qwen2`, `emoe_bert`...), `architectures`, `auto_map` (the
  /// classes in `configuration_emoe.py` and `modeling_emoe.py`), `emoe_layers` (per converted
  /// layer: `experts`, `expert_sizes`, `shared`, `top_k`, `router`, `router_bias`), and the
  /// `emoe` object of the safetensors export with `layout` `hf`.
  func configuration(_ kind: Kind) throws(ConversionError) -> JSONValue {
    var members: [JSONMember]
    if case .gguf(let pairs) = container.metadata {
      members = try ggufConfiguration(pairs)
    } else {
      members = container.config?.objectValue ?? []
    }
    if kind.isGated {
      // Only LlamaConfig has mlp_bias; the other families' MLPs have no biases.
      let mlpBias =
        kind == .llama ? members.first { $0.key == "mlp_bias" }?.value.boolValue ?? false : false
      for record in container.layers where (record.tensors[.bg] != nil) != mlpBias {
        throw .invalidInput(
          "\(container.path): layer \(record.layer)'s FFN biases do not match the "
            + "configuration's mlp_bias \(mlpBias)")
      }
    }
    let replaced: Set<String> = [
      "model_type", "architectures", "auto_map", "emoe_layers", "emoe", "n_expert", "topk",
      "mode", "select", "split_start_layer", "split_every_layer",
    ]
    members.removeAll { replaced.contains($0.key) }
    members.insert(JSONMember("architectures", .array([.string(kind.architecture)])), at: 0)
    members.insert(JSONMember("model_type", .string(Self.modelType(kind))), at: 0)
    members.append(
      JSONMember(
        "auto_map", .object(Self.autoMap(kind).map { JSONMember($0.key, .string($0.value)) })))
    members.append(JSONMember("emoe_layers", emoeLayers()))
    members.append(JSONMember("emoe", ExportConfig.emoeObject(container, layout: "hf")))
    return .object(members)
  }

  /// Per converted layer, what the modeling code needs to run it.
  func emoeLayers() -> JSONValue {
    .object(
      container.layers.sorted { $0.layer < $1.layer }.map { record in
        JSONMember(
          String(record.layer),
          .object([
            JSONMember("experts", .integer(Int64(record.expertCount))),
            JSONMember("expert_sizes", .array(record.expertSizes.map { .integer(Int64($0)) })),
            JSONMember("shared", .integer(Int64(record.sharedCount))),
            JSONMember("top_k", .integer(Int64(record.topK))),
            JSONMember("router", .string(record.router.rawValue)),
            JSONMember("router_bias", .bool(record.tensors[.routerBias] != nil)),
          ]))
      })
  }

  /// A LlamaConfig from GGUF `llama.*` metadata, read as the whole-model runner reads it.
  private func ggufConfiguration(_ pairs: [(key: String, value: GGUFValue)])
    throws(ConversionError) -> [JSONMember]
  {
    let llama = try llamaConfiguration(pairs)
    func integer(_ key: String) -> Int? { pairs.first { $0.key == key }?.value.intValue }
    // The shortest decimal of the Float, as the GGUF file holds a Float.
    func real(_ value: Float) -> JSONValue { .number(Double("\(value)") ?? Double(value)) }
    var members = [
      JSONMember("vocab_size", .integer(Int64(llama.vocabularySize))),
      JSONMember("hidden_size", .integer(Int64(llama.hiddenSize))),
      JSONMember("intermediate_size", .integer(Int64(llama.intermediateSize))),
      JSONMember("num_hidden_layers", .integer(Int64(llama.layerCount))),
      JSONMember("num_attention_heads", .integer(Int64(llama.headCount))),
      JSONMember("num_key_value_heads", .integer(Int64(llama.keyValueHeadCount))),
      JSONMember("head_dim", .integer(Int64(llama.headDimension))),
      JSONMember("hidden_act", .string("silu")),
      JSONMember("rms_norm_eps", real(llama.rmsNormEpsilon)),
      JSONMember("rope_theta", real(llama.ropeTheta)),
      JSONMember(
        "rope_parameters",
        .object([
          JSONMember("rope_type", .string("default")),
          JSONMember("rope_theta", real(llama.ropeTheta)),
        ])),
      JSONMember(
        "max_position_embeddings", .integer(Int64(integer("llama.context_length") ?? 2048))),
      JSONMember("tie_word_embeddings", .bool(llama.tiedEmbeddings)),
      JSONMember("attention_bias", .bool(false)),
      JSONMember("mlp_bias", .bool(false)),
      JSONMember("dtype", .string("float32")),
    ]
    for (key, name) in [
      ("bos_token_id", "tokenizer.ggml.bos_token_id"),
      ("eos_token_id", "tokenizer.ggml.eos_token_id"),
      ("pad_token_id", "tokenizer.ggml.padding_token_id"),
    ] {
      if let value = integer(name) { members.append(JSONMember(key, .integer(Int64(value)))) }
    }
    return members
  }
}
