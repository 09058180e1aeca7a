import EMoECore
import EMoEFormats

extension Tokenizer {
  /// The kinds of `tokenizer.ggml.token_type`, as llama.cpp numbers them.
  enum GGUFTokenType: Int {
    case undefined = 0
    case normal = 1
    case unknown = 2
    case control = 3
    case userDefined = 4
    case unused = 5
    case byte = 6
  }

  /// The SentencePiece (`llama`) tokenizer of GGUF metadata `values` read from `path`.
  ///
  /// `tokenizer.ggml.scores` (one 32-bit float per token) and `tokenizer.ggml.token_type`
  /// (one integer per token) default to 0 and normal when absent, as in llama.cpp; unknown,
  /// control and user-defined tokens are matched verbatim in the text (llama.cpp with special
  /// tokens parsed). BOS is added unless `tokenizer.ggml.add_bos_token` is false, EOS only when
  /// `tokenizer.ggml.add_eos_token` is true, and a space is put before the text unless
  /// `tokenizer.ggml.add_space_prefix` is false.
  ///
  /// - Throws: ``TokenizerError`` naming the file and key of a malformed array or id.
  static func sentencePiece(tokens: [String], values: [String: GGUFValue], file path: String)
    throws(TokenizerError) -> Tokenizer
  {
    func location(_ key: String) -> ErrorLocation { ErrorLocation(file: path, key: key) }
    let scoresKey = "tokenizer.ggml.scores"
    var scores = [Float](repeating: 0, count: tokens.count)
    if let value = values[scoresKey] {
      guard case .array(.float32, let elements) = value else {
        throw TokenizerError(
          "must be an array of 32-bit floats, one per token", location: location(scoresKey))
      }
      guard elements.count == tokens.count else {
        throw TokenizerError(
          "has \(elements.count) scores for \(tokens.count) tokens", location: location(scoresKey))
      }
      for (index, element) in elements.enumerated() {
        guard case .float32(let score) = element, score.isFinite else {
          throw TokenizerError(
            "score \(index) is not a finite number", location: location(scoresKey))
        }
        scores[index] = score
      }
    }
    let typesKey = "tokenizer.ggml.token_type"
    var types = [GGUFTokenType](repeating: .normal, count: tokens.count)
    if let value = values[typesKey] {
      guard case .array(_, let elements) = value else {
        throw TokenizerError(
          "must be an array of integers, one per token", location: location(typesKey))
      }
      guard elements.count == tokens.count else {
        throw TokenizerError(
          "has \(elements.count) types for \(tokens.count) tokens", location: location(typesKey))
      }
      for (index, element) in elements.enumerated() {
        guard let number = element.intValue, let type = GGUFTokenType(rawValue: number) else {
          throw TokenizerError(
            "token \(index) has type \(element.summary) (known: 0 undefined, 1 normal, "
              + "2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte)",
            location: location(typesKey))
        }
        types[index] = type
      }
    }
    func tokenID(_ key: String) throws(TokenizerError) -> Int32? {
      guard let value = values[key] else { return nil }
      guard let id = value.intValue, id >= 0, id < tokens.count else {
        throw TokenizerError(
          "\(value.summary) is not a token id (the vocabulary has \(tokens.count) tokens)",
          location: location(key))
      }
      return Int32(id)
    }
    func flag(_ key: String, default fallback: Bool) throws(TokenizerError) -> Bool {
      guard let value = values[key] else { return fallback }
      guard case .bool(let flag) = value else {
        throw TokenizerError("must be a boolean", location: location(key))
      }
      return flag
    }
    let unknownID =
      try tokenID("tokenizer.ggml.unknown_token_id")
      ?? types.firstIndex(of: .unknown).map { Int32($0) }
    let model = SentencePieceModel(
      pieces: tokens, scores: scores, unknownID: unknownID,
      addsSpacePrefix: try flag("tokenizer.ggml.add_space_prefix", default: true))
    var added: [(text: [UInt8], id: Int32)] = []
    for (index, type) in types.enumerated()
    where [.unknown, .control, .userDefined].contains(type) && !tokens[index].isEmpty {
      added.append((Array(tokens[index].utf8), Int32(index)))
    }
    var prefix: [Int32] = []
    var suffix: [Int32] = []
    let bosKey = "tokenizer.ggml.bos_token_id"
    let eosKey = "tokenizer.ggml.eos_token_id"
    // llama.cpp's defaults for SentencePiece vocabularies: <s> is 1 and </s> is 2.
    if try flag("tokenizer.ggml.add_bos_token", default: true) {
      guard let bos = try tokenID(bosKey) ?? (tokens.count > 1 ? 1 : nil) else {
        throw TokenizerError(
          "add_bos_token is true but there is no BOS id", location: location(bosKey))
      }
      prefix = [bos]
    }
    if try flag("tokenizer.ggml.add_eos_token", default: false) {
      guard let eos = try tokenID(eosKey) ?? (tokens.count > 2 ? 2 : nil) else {
        throw TokenizerError(
          "add_eos_token is true but there is no EOS id", location: location(eosKey))
      }
      suffix = [eos]
    }
    return Tokenizer(
      model: .sentencePiece(model),
      addedTokens: added.sorted { $0.text.count > $1.text.count },
      prefix: prefix, suffix: suffix, vocabularySize: tokens.count,
      summary: "GGUF tokenizer.ggml llama (SentencePiece BPE)")
  }
}
