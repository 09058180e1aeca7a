import EMoECore
import EMoEFormats

extension Tokenizer {
  /// The tokenizer described by `file`'s `tokenizer.ggml.*` metadata.
  ///
  /// Supports `tokenizer.ggml.model` = `gpt2` (byte-level BPE) with the pre-tokenizers named
  /// by `tokenizer.ggml.pre`: `default`/`gpt2`, `smollm`, `llama-bpe`/`llama3` and `qwen2`
  /// (llama.cpp does not NFC-normalise, and neither does this tokenizer from a GGUF). Control and
  /// user-defined tokens (`token_type` 3 and 4) are matched verbatim in the text. Also
  /// `llama` (SentencePiece BPE with scores and byte fallback); see ``SentencePieceModel``.
  public static func load(gguf file: GGUFFile) throws(TokenizerError) -> Tokenizer {
    try load(ggufMetadata: file.keyValues, file: file.path)
  }

  /// The tokenizer described by GGUF metadata `pairs` read from `path` (a GGUF file, or a
  /// container that recorded its GGUF source's metadata); see ``load(gguf:)``.
  public static func load(ggufMetadata pairs: [(key: String, value: GGUFValue)], file path: String)
    throws(TokenizerError) -> Tokenizer
  {
    var values: [String: GGUFValue] = [:]
    for pair in pairs where pair.key.hasPrefix("tokenizer.") { values[pair.key] = pair.value }
    let file = (path: path, value: { (key: String) in values[key] })
    func location(_ key: String) -> ErrorLocation { ErrorLocation(file: file.path, key: key) }
    func strings(_ key: String) throws(TokenizerError) -> [String] {
      guard let value = file.value(key) else {
        throw TokenizerError(
          "the file has no tokenizer (this key is missing)", location: location(key))
      }
      guard case .array(.string, let elements) = value else {
        throw TokenizerError("must be an array of strings", location: location(key))
      }
      return elements.map { $0.stringValue ?? "" }
    }
    let modelKey = "tokenizer.ggml.model"
    guard let model = file.value(modelKey)?.stringValue else {
      throw TokenizerError(
        "the file has no tokenizer (this key is missing or not a string)",
        location: location(modelKey))
    }
    if model == "llama" {
      return try sentencePiece(tokens: strings("tokenizer.ggml.tokens"), values: values, file: path)
    }
    guard model == "gpt2" else {
      throw TokenizerError(
        "tokenizer model '\(model.escapingControlCharacters())' is not supported "
          + "(supported: gpt2, the byte-level BPE of GPT-2, SmolLM2 and LLaMA 3; llama, the "
          + "SentencePiece BPE of LLaMA 2 and Mistral)",
        location: location(modelKey))
    }
    let preKey = "tokenizer.ggml.pre"
    let pre = file.value(preKey)?.stringValue ?? "default"
    let preTokenizer: PreTokenizer
    switch pre {
    case "default", "gpt2", "gpt-2": preTokenizer = .gpt2
    case "smollm", "starcoder", "refact": preTokenizer = .digitsThenGPT2
    case "llama-bpe", "llama3", "llama-v3": preTokenizer = .llama3
    case "qwen2": preTokenizer = .qwen2
    default:
      throw TokenizerError(
        "pre-tokenizer '\(pre.escapingControlCharacters())' is not supported "
          + "(supported: default, gpt2, smollm, starcoder, refact, llama-bpe, qwen2)",
        location: location(preKey))
    }
    let tokens = try strings("tokenizer.ggml.tokens")
    let mergesKey = "tokenizer.ggml.merges"
    var merges: [(String, String)] = []
    merges.reserveCapacity(tokens.count)
    for (index, merge) in try strings(mergesKey).enumerated() {
      let halves = merge.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
      guard halves.count == 2, !halves[0].isEmpty, !halves[1].isEmpty else {
        throw TokenizerError(
          "merge \(index) '\(merge.escapingControlCharacters())' is not two tokens separated by a space",
          location: location(mergesKey))
      }
      merges.append((String(halves[0]), String(halves[1])))
    }
    let bytePair: BytePairModel
    do {
      bytePair = try BytePairModel(
        vocabulary: tokens, merges: merges, ignoresMerges: preTokenizer == .llama3)
    } catch {
      throw TokenizerError(
        "merge \(error.index): \(error.reason.escapingControlCharacters())",
        location: location(mergesKey))
    }
    var added: [(text: [UInt8], id: Int32)] = []
    if case .array(_, let types)? = file.value("tokenizer.ggml.token_type") {
      for (index, type) in types.enumerated() where index < tokens.count {
        if let kind = type.intValue, kind == 3 || kind == 4, !tokens[index].isEmpty {
          added.append((Array(tokens[index].utf8), Int32(index)))
        }
      }
    }
    var prefix: [Int32] = []
    if file.value("tokenizer.ggml.add_bos_token") == .bool(true),
      let bos = file.value("tokenizer.ggml.bos_token_id")?.intValue, bos < tokens.count
    {
      prefix = [Int32(bos)]
    }
    return Tokenizer(
      model: .bytePair(bytePair, preTokenizer),
      addedTokens: added.sorted { $0.text.count > $1.text.count },
      prefix: prefix, suffix: [], vocabularySize: tokens.count,
      summary: "GGUF tokenizer.ggml \(model)/\(pre)")
  }
}
