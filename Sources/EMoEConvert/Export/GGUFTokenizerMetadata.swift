import EMoECore
import EMoEFormats
import EMoETokenizers

/// The `tokenizer.ggml.*` metadata of a Hugging Face byte-level BPE tokenizer (`tokenizer.json`
/// beside `tokenizer_config.json`), written as `convert_hf_to_gguf.py` writes it for the GPT-2
/// style vocabularies of SmolLM2, LLaMA 3 and Qwen.
///
/// - `tokenizer.ggml.model` is `gpt2`; `tokenizer.ggml.pre` names llama.cpp's split pattern,
///   recognised by EMoETokenizers' ``ByteLevelSplit`` (the Python converter hashes sample
///   encodings instead; both name the same pattern for the pre-tokenizers accepted here):
///   `ByteLevel` alone → `gpt-2`, `Digits` (individual) then `ByteLevel` → `smollm`, LLaMA 3's
///   `Split` → `llama-bpe`, Qwen2's `Split` → `qwen2`. Anything else is refused rather than
///   guessed.
/// - Tokens by id, padded to the embedding's rows with `[PADi]` (type unused); added tokens
///   marked special are control tokens (3), other added tokens user-defined (4), the rest
///   normal (1).
/// - Merges as `"left right"`; bos/eos/unk/pad ids from `tokenizer_config.json` (then
///   `config.json`); `add_bos_token`/`add_eos_token` from `tokenizer_config.json`, otherwise
///   whether the `TemplateProcessing` post-processor puts a special token first; the chat
///   template from `tokenizer_config.json` or `chat_template.jinja`.
///
/// SentencePiece tokenizers (`tokenizer.model`, or a `tokenizer.json` with byte fallback) are
/// refused: llama.cpp's `llama` vocabulary needs scores this reader does not derive.
enum GGUFTokenizerMetadata {
  /// Token types as llama.cpp numbers them.
  static let normal: Int32 = 1
  static let control: Int32 = 3
  static let userDefined: Int32 = 4
  static let unused: Int32 = 5

  /// The metadata pairs for the tokenizer in `folder`, for an embedding of `vocabularySize` rows.
  ///
  /// - Throws: ``ConversionError/invalidInput(_:)`` naming the file and key when the tokenizer
  ///   is missing or of a kind llama.cpp's `gpt2` vocabulary cannot express.
  static func pairs(folder: String, vocabularySize: Int, config: JSONValue?)
    throws(ConversionError) -> [(key: String, value: GGUFValue)]
  {
    let path = FileSystem.join(folder, "tokenizer.json")
    guard FileSystem.exists(path) else {
      if FileSystem.exists(FileSystem.join(folder, "tokenizer.model")) {
        throw .invalidInput(
          "\(folder): the tokenizer is SentencePiece (tokenizer.model, no tokenizer.json); GGUF "
            + "export writes byte-level BPE tokenizers only; export with --to safetensors")
      }
      throw .invalidInput(
        "\(path) does not exist: GGUF export needs the source's tokenizer.json (give the source "
          + "checkpoint folder with --source)")
    }
    let root = try read(path)
    let settingsPath = FileSystem.join(folder, "tokenizer_config.json")
    let settings =
      FileSystem.exists(settingsPath) ? try read(settingsPath, widening: true) : JSONValue.null
    func fail(_ key: String, _ reason: String) -> ConversionError {
      .invalidInput("\(ErrorLocation(file: path, key: key)): \(reason)")
    }
    let model = root["model"] ?? .null
    guard model["type"]?.stringValue == "BPE" else {
      throw fail("model.type", "GGUF export writes byte-level BPE tokenizers only, not this one")
    }
    guard model["byte_fallback"]?.boolValue != true else {
      throw fail(
        "model.byte_fallback", "a SentencePiece-style BPE (byte fallback) is not supported")
    }
    let pre = try preTokenizerName(root, file: path)
    guard let vocab = model["vocab"]?.objectValue else {
      throw fail("model.vocab", "must be an object of token → id")
    }
    var tokens = [String?](repeating: nil, count: vocabularySize)
    var types = [Int32](repeating: normal, count: vocabularySize)
    var ids: [String: Int] = [:]
    func place(_ token: String, _ id: Int?, key: String) throws(ConversionError) {
      guard let id, id >= 0 else { throw fail(key, "'\(token)' has no valid id") }
      guard id < vocabularySize else {
        throw fail(
          key, "'\(token)' has id \(id), past the embedding's \(vocabularySize) rows (vocab_size)")
      }
      tokens[id] = token
      ids[token] = id
    }
    for member in vocab { try place(member.key, member.value.intValue, key: "model.vocab") }
    for added in root["added_tokens"]?.arrayValue ?? [] {
      guard let content = added["content"]?.stringValue else {
        throw fail("added_tokens", "an added token has no content")
      }
      try place(content, added["id"]?.intValue, key: "added_tokens")
      types[ids[content]!] = added["special"]?.boolValue == true ? control : userDefined
    }
    let names = tokens.enumerated().map { index, token in
      if let token { return token }
      types[index] = unused
      return "[PAD\(index)]"
    }
    var merges: [GGUFValue] = []
    for merge in model["merges"]?.arrayValue ?? [] {
      if let text = merge.stringValue {
        merges.append(.string(text))
      } else if let pair = merge.arrayValue, pair.count == 2, let left = pair[0].stringValue,
        let right = pair[1].stringValue
      {
        merges.append(.string(left + " " + right))
      } else {
        throw fail("model.merges", "a merge is neither \"a b\" nor [\"a\", \"b\"]")
      }
    }
    var result: [(key: String, value: GGUFValue)] = [
      ("tokenizer.ggml.model", .string("gpt2")),
      ("tokenizer.ggml.pre", .string(pre)),
      ("tokenizer.ggml.tokens", .array(elementType: .string, elements: names.map { .string($0) })),
      (
        "tokenizer.ggml.token_type", .array(elementType: .int32, elements: types.map { .int32($0) })
      ),
      ("tokenizer.ggml.merges", .array(elementType: .string, elements: merges)),
    ]
    for (role, key) in [
      ("bos", "bos_token_id"), ("eos", "eos_token_id"), ("unk", "unknown_token_id"),
      ("pad", "padding_token_id"),
    ] {
      let value = settings[role + "_token"]
      let text = value?.stringValue ?? value?["content"]?.stringValue
      let id = text.flatMap { ids[$0] } ?? config?[role + "_token_id"]?.intValue
      if let id, (0..<vocabularySize).contains(id) {
        result.append(("tokenizer.ggml." + key, .uint32(UInt32(id))))
      }
    }
    if let addBOS = settings["add_bos_token"]?.boolValue ?? templateAddsFirstToken(root) {
      result.append(("tokenizer.ggml.add_bos_token", .bool(addBOS)))
    }
    if let addEOS = settings["add_eos_token"]?.boolValue {
      result.append(("tokenizer.ggml.add_eos_token", .bool(addEOS)))
    }
    if let template = settings["chat_template"]?.stringValue {
      result.append(("tokenizer.chat_template", .string(template)))
    } else if let file = try? MappedFile(path: FileSystem.join(folder, "chat_template.jinja")) {
      result.append(
        ("tokenizer.chat_template", .string(String(decoding: file.bytes, as: UTF8.self))))
    }
    return result
  }

  /// llama.cpp's `tokenizer.ggml.pre` name for the split ``ByteLevelSplit`` recognises in
  /// `root`.
  ///
  /// An NFC normaliser (Qwen2's) is accepted as the Python converter accepts it: llama.cpp does
  /// not normalise, which changes only text that is not already NFC.
  static func preTokenizerName(_ root: JSONValue, file: String) throws(ConversionError) -> String {
    let split: ByteLevelSplit
    do {
      split = try ByteLevelSplit(tokenizerJSON: root, file: file)
    } catch {
      throw .invalidInput(error.description)
    }
    return switch split.preTokenizer {
    case .gpt2: "gpt-2"
    case .digitsThenGPT2: "smollm"
    case .llama3: "llama-bpe"
    case .qwen2: "qwen2"
    }
  }

  /// Whether the `TemplateProcessing` post-processor starts a single sequence with a special
  /// token (Hugging Face then adds BOS), or `nil` when there is no such post-processor.
  static func templateAddsFirstToken(_ root: JSONValue) -> Bool? {
    let processor = root["post_processor"] ?? .null
    guard processor["type"]?.stringValue == "TemplateProcessing",
      let single = processor["single"]?.arrayValue
    else { return nil }
    return single.first?["SpecialToken"] != nil
  }

  /// The parsed JSON file at `path`.
  ///
  /// With `widening`, integers of more than 18 digits are read as numbers: transformers writes
  /// `model_max_length` as 1000000000000000019884624838656 (1e30), past what the strict parser
  /// keeps as an integer, and the value is not used here.
  static func read(_ path: String, widening: Bool = false) throws(ConversionError) -> JSONValue {
    do {
      let file = try MappedFile(path: path)
      if widening {
        let text = wideningLongIntegers(file.bytes)
        return try text.withUnsafeBytes { raw throws(JSONParseError) in try JSONValue.parse(raw) }
      }
      return try JSONValue.parse(file.bytes)
    } catch let error as JSONParseError {
      throw .invalidInput("\(ErrorLocation(file: path, offset: error.offset)): \(error.reason)")
    } catch {
      throw .invalidInput("\(path): \(error)")
    }
  }

  /// `text` with `.0` after every integer literal of more than 18 digits outside strings.
  static func wideningLongIntegers(_ text: UnsafeRawBufferPointer) -> [UInt8] {
    var result: [UInt8] = []
    result.reserveCapacity(text.count + 16)
    var inString = false
    var escaped = false
    var digits = 0
    var integer = true
    func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
    for byte in text {
      if inString {
        if escaped {
          escaped = false
        } else if byte == 0x5C {
          escaped = true
        } else if byte == 0x22 {
          inString = false
        }
        result.append(byte)
        continue
      }
      if isDigit(byte) {
        if digits == 0 {
          // A run after '.', an exponent or its sign is a fraction or exponent, not an integer.
          let last = result.last ?? 0
          let beforeLast = result.count > 1 ? result[result.count - 2] : 0
          let exponent = last == 0x65 || last == 0x45 || last == 0x2B
          let fraction = last == 0x2E
          let signedExponent = last == 0x2D && (beforeLast == 0x65 || beforeLast == 0x45)
          integer = !(exponent || fraction || signedExponent)
        }
        digits += 1
      } else {
        if integer && digits > 18 && byte != 0x2E && byte != 0x65 && byte != 0x45 {
          result += [0x2E, 0x30]
        }
        digits = 0
        if byte == 0x22 { inString = true }
      }
      result.append(byte)
    }
    if integer && digits > 18 { result += [0x2E, 0x30] }
    return result
  }
}
