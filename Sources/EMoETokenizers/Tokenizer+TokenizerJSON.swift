import EMoECore

extension Tokenizer {
  /// The tokenizer described by a Hugging Face `tokenizer.json` at `path`.
  ///
  /// Supports the `BPE` model with a byte-level pre-tokenizer (``ByteLevelSplit``: `ByteLevel`,
  /// `Digits` then `ByteLevel`, or LLaMA 3's or Qwen2's `Split` then `ByteLevel`, after no
  /// normaliser or NFC), the `BPE` model over characters with
  /// byte fallback (LLaMA 2's `Prepend`/`Replace` normaliser, or Mistral's `Metaspace`; see
  /// ``CharacterPairModel``), and the `WordPiece` model with BERT's
  /// normaliser and pre-tokenizer; added tokens are matched verbatim; a `TemplateProcessing`
  /// or `BertProcessing` post-processor gives the special tokens around a sequence.
  public static func load(tokenizerJSON path: String) throws(TokenizerError) -> Tokenizer {
    let root: JSONValue
    do {
      let file = try MappedFile(path: path)
      root = try JSONValue.parse(file.bytes)
    } catch let error as JSONParseError {
      throw TokenizerError(error.reason, location: ErrorLocation(file: path, offset: error.offset))
    } catch {
      throw TokenizerError("\(error)", location: ErrorLocation(file: path))
    }
    var reader = TokenizerJSONReader(path: path, root: root)
    return try reader.tokenizer()
  }
}

/// Reads the parts of a `tokenizer.json` that ``Tokenizer`` needs, naming the JSON path of any
/// problem.
struct TokenizerJSONReader {
  let path: String
  let root: JSONValue
  /// Every added token's id by its text.
  private var addedIDs: [String: Int32] = [:]

  init(path: String, root: JSONValue) {
    self.path = path
    self.root = root
  }

  private func error(_ key: String, _ reason: String) -> TokenizerError {
    TokenizerError(reason, location: ErrorLocation(file: path, key: key))
  }

  private func object(_ value: JSONValue?, _ key: String) throws(TokenizerError) -> JSONValue {
    guard let value, case .object = value else { throw error(key, "must be an object") }
    return value
  }

  private func string(_ value: JSONValue?, _ key: String) throws(TokenizerError) -> String {
    guard let text = value?.stringValue else { throw error(key, "must be a string") }
    return text
  }

  mutating func tokenizer() throws(TokenizerError) -> Tokenizer {
    let model = try object(root["model"], "model")
    let type = try string(model["type"], "model.type")
    var added: [(text: [UInt8], id: Int32)] = []
    for (index, token) in (root["added_tokens"]?.arrayValue ?? []).enumerated() {
      let key = "added_tokens[\(index)]"
      let content = try string(token["content"], key + ".content")
      guard let id = token["id"]?.intValue, id >= 0, id <= Int(Int32.max) else {
        throw error(key + ".id", "must be a non-negative integer")
      }
      for flag in ["lstrip", "rstrip", "single_word"] where token[flag]?.boolValue == true {
        throw error(key + "." + flag, "added-token option '\(flag)' is not supported")
      }
      addedIDs[content] = Int32(id)
      if !content.isEmpty { added.append((Array(content.utf8), Int32(id))) }
    }
    let (prefix, suffix) = try specialTokens()
    let built: Tokenizer.Model
    let size: Int
    var normalizesNFC = false
    switch type {
    case "BPE" where isCharacterLevel(model):
      let (characterPair, count) = try characterPairModel(model)
      built = .characterPair(characterPair)
      size = count
    case "BPE":
      let (bytePair, split, count) = try bytePairModel(model)
      built = .bytePair(bytePair, split.preTokenizer)
      normalizesNFC = split.normalizesNFC
      size = count
    case "WordPiece":
      let (wordPiece, count) = try wordPieceModel(model)
      built = .wordPiece(wordPiece)
      size = count
    default:
      throw error(
        "model.type",
        "tokenizer model '\(type.escapingControlCharacters())' is not supported (supported: BPE, WordPiece)"
      )
    }
    return Tokenizer(
      model: built, addedTokens: added.sorted { $0.text.count > $1.text.count },
      prefix: prefix, suffix: suffix,
      vocabularySize: max(size, (addedIDs.values.max().map { Int($0) + 1 }) ?? 0),
      summary: "tokenizer.json \(type)", normalizesNFC: normalizesNFC)
  }

  /// The vocabulary as strings in id order, from an object of `token: id`.
  private func vocabulary(_ model: JSONValue) throws(TokenizerError) -> [String] {
    guard let members = model["vocab"]?.objectValue else {
      throw error("model.vocab", "must be an object of token ids")
    }
    var tokens = [String](repeating: "", count: members.count)
    var seen = [Bool](repeating: false, count: members.count)
    for member in members {
      guard let id = member.value.intValue, id >= 0, id < members.count, !seen[id] else {
        throw error(
          "model.vocab." + member.key.escapingControlCharacters(),
          "ids must be 0..<\(members.count), each once")
      }
      tokens[id] = member.key
      seen[id] = true
    }
    return tokens
  }

  /// Whether `model` is a BPE over characters (LLaMA 2 / Mistral): byte fallback, or spaces
  /// turned into `▁` by the normaliser or a `Metaspace` pre-tokenizer.
  private func isCharacterLevel(_ model: JSONValue) -> Bool {
    model["byte_fallback"]?.boolValue == true
      || root["pre_tokenizer"]?["type"]?.stringValue == "Metaspace"
      || ["Prepend", "Replace", "Sequence"].contains(root["normalizer"]?["type"]?.stringValue ?? "")
  }

  /// The vocabulary and ranked merges of a BPE `model`.
  private func rankedPairs(_ model: JSONValue) throws(TokenizerError) -> (BytePairModel, Int) {
    for key in ["continuing_subword_prefix", "end_of_word_suffix", "dropout"]
    where model[key] != nil && model[key] != .null && model[key] != .string("") {
      throw error("model." + key, "BPE option '\(key)' is not supported")
    }
    let tokens = try vocabulary(model)
    guard let list = model["merges"]?.arrayValue else {
      throw error("model.merges", "must be an array")
    }
    var merges: [(String, String)] = []
    merges.reserveCapacity(list.count)
    for (index, entry) in list.enumerated() {
      if let text = entry.stringValue {
        let halves = text.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
        if halves.count == 2, !halves[0].isEmpty, !halves[1].isEmpty {
          merges.append((String(halves[0]), String(halves[1])))
          continue
        }
      } else if let pair = entry.arrayValue, pair.count == 2, let left = pair[0].stringValue,
        let right = pair[1].stringValue
      {
        merges.append((left, right))
        continue
      }
      throw error("model.merges[\(index)]", "must be \"left right\" or [left, right]")
    }
    do {
      return (
        try BytePairModel(
          vocabulary: tokens, merges: merges,
          ignoresMerges: model["ignore_merges"]?.boolValue ?? false),
        tokens.count
      )
    } catch {
      throw self.error("model.merges[\(error.index)]", error.reason.escapingControlCharacters())
    }
  }

  private func bytePairModel(_ model: JSONValue) throws(TokenizerError) -> (
    BytePairModel, ByteLevelSplit, Int
  ) {
    let (bytePair, count) = try rankedPairs(model)
    return (bytePair, try ByteLevelSplit(tokenizerJSON: root, file: path), count)
  }

  /// A BPE over characters: the `Prepend("▁")` + `Replace(" ", "▁")` normaliser (LLaMA 2) or
  /// a `Metaspace` pre-tokenizer (Mistral), byte fallback and the unknown token.
  private func characterPairModel(_ model: JSONValue) throws(TokenizerError) -> (
    CharacterPairModel, Int
  ) {
    let (pairs, count) = try rankedPairs(model)
    if model["ignore_merges"]?.boolValue == true {
      throw error("model.ignore_merges", "ignore_merges is not supported with byte fallback")
    }
    let marker = "\u{2581}"
    var spacePrefix = CharacterPairModel.SpacePrefix.never
    var unlessPresent = false
    var splits = false
    var replacesSpaces = false
    if let normalizer = root["normalizer"], normalizer != .null {
      let steps =
        normalizer["type"]?.stringValue == "Sequence"
        ? (normalizer["normalizers"]?.arrayValue ?? []) : [normalizer]
      for (index, step) in steps.enumerated() {
        let key =
          normalizer["type"]?.stringValue == "Sequence"
          ? "normalizer.normalizers[\(index)]" : "normalizer"
        switch step["type"]?.stringValue {
        case "Prepend" where step["prepend"]?.stringValue == marker:
          spacePrefix = .always
        case "Replace"
        where step["pattern"]?["String"]?.stringValue == " "
          && step["content"]?.stringValue == marker:
          replacesSpaces = true
        default:
          throw error(
            key,
            "this normaliser is not supported with a character-level BPE (supported: "
              + "Prepend(\"\(marker)\") then Replace(\" \", \"\(marker)\"))")
        }
      }
    }
    if let pre = root["pre_tokenizer"], pre != .null {
      guard pre["type"]?.stringValue == "Metaspace", pre["replacement"]?.stringValue == marker,
        !replacesSpaces, spacePrefix == .never
      else {
        throw error(
          "pre_tokenizer",
          "this pre-tokenizer is not supported with a character-level BPE (supported: none, "
            + "or Metaspace with replacement \(marker))")
      }
      replacesSpaces = true
      unlessPresent = true
      splits = pre["split"]?.boolValue ?? true
      switch pre["prepend_scheme"]?.stringValue
        ?? ((pre["add_prefix_space"]?.boolValue ?? true) ? "always" : "never")
      {
      case "always": spacePrefix = .always
      case "first": spacePrefix = .first
      case "never": spacePrefix = .never
      default:
        throw error("pre_tokenizer.prepend_scheme", "must be always, first or never")
      }
    }
    guard replacesSpaces else {
      throw error(
        "normalizer",
        "a character-level BPE needs spaces replaced by \(marker) (Replace or Metaspace)")
    }
    let hex = Array("0123456789ABCDEF")
    let byteIDs: [Int32]? =
      model["byte_fallback"]?.boolValue == true
      ? (0..<256).map { pairs.ids["<0x\(hex[$0 >> 4])\(hex[$0 & 15])>"] ?? -1 } : nil
    var unknownID: Int32?
    if let unknown = model["unk_token"]?.stringValue {
      guard let id = pairs.ids[unknown] ?? addedIDs[unknown] else {
        throw error(
          "model.unk_token", "'\(unknown.escapingControlCharacters())' is not in the vocabulary")
      }
      unknownID = id
    }
    return (
      CharacterPairModel(
        pairs: pairs, byteIDs: byteIDs, unknownID: unknownID,
        fusesUnknown: model["fuse_unk"]?.boolValue ?? false, spacePrefix: spacePrefix,
        prefixUnlessPresent: unlessPresent, splitsWords: splits),
      count
    )
  }

  private func wordPieceModel(_ model: JSONValue) throws(TokenizerError) -> (WordPieceModel, Int) {
    let tokens = try vocabulary(model)
    var ids: [String: Int32] = [:]
    for (index, token) in tokens.enumerated() { ids[token] = Int32(index) }
    let unknown = try string(model["unk_token"], "model.unk_token")
    guard let unknownID = ids[unknown] else {
      throw error(
        "model.unk_token", "'\(unknown.escapingControlCharacters())' is not in the vocabulary")
    }
    let normalizer = try object(root["normalizer"], "normalizer")
    guard normalizer["type"]?.stringValue == "BertNormalizer" else {
      throw error("normalizer", "WordPiece is supported with BertNormalizer only")
    }
    guard root["pre_tokenizer"]?["type"]?.stringValue == "BertPreTokenizer" else {
      throw error("pre_tokenizer", "WordPiece is supported with BertPreTokenizer only")
    }
    let lowercase = normalizer["lowercase"]?.boolValue ?? true
    let stripAccents = normalizer["strip_accents"]?.boolValue ?? lowercase
    return (
      WordPieceModel(
        ids: ids, unknownID: unknownID,
        continuingPrefix: model["continuing_subword_prefix"]?.stringValue ?? "##",
        maximumWordLength: model["max_input_chars_per_word"]?.intValue ?? 100,
        lowercases: lowercase, stripsAccents: stripAccents,
        cleansText: normalizer["clean_text"]?.boolValue ?? true,
        isolatesCJK: normalizer["handle_chinese_chars"]?.boolValue ?? true),
      tokens.count
    )
  }

  /// The ids around a single sequence, from the post-processor.
  private func specialTokens() throws(TokenizerError) -> ([Int32], [Int32]) {
    guard let processor = root["post_processor"], processor != .null else { return ([], []) }
    let key = "post_processor"
    switch processor["type"]?.stringValue {
    case "TemplateProcessing":
      guard let items = processor["single"]?.arrayValue else {
        throw error(key + ".single", "must be an array")
      }
      var prefix: [Int32] = []
      var suffix: [Int32] = []
      var seenSequence = false
      for (index, item) in items.enumerated() {
        if item["Sequence"] != nil {
          seenSequence = true
        } else if let name = item["SpecialToken"]?["id"]?.stringValue {
          guard let ids = processor["special_tokens"]?[name]?["ids"]?.arrayValue else {
            throw error(
              key + ".special_tokens", "'\(name.escapingControlCharacters())' is not defined")
          }
          let values = ids.compactMap { $0.intValue.flatMap { Int32(exactly: $0) } }
          if seenSequence { suffix += values } else { prefix += values }
        } else {
          throw error(key + ".single[\(index)]", "must be a Sequence or a SpecialToken")
        }
      }
      return (prefix, suffix)
    case "BertProcessing", "RobertaProcessing":
      guard let cls = processor["cls"]?.arrayValue, cls.count == 2, let clsID = cls[1].intValue,
        let sep = processor["sep"]?.arrayValue, sep.count == 2, let sepID = sep[1].intValue,
        let first = Int32(exactly: clsID), let last = Int32(exactly: sepID)
      else {
        throw error(key, "cls and sep must be [token, id]")
      }
      return ([first], [last])
    case "ByteLevel":
      return ([], [])
    default:
      throw error(key, "this post-processor is not supported")
    }
  }
}
