import EMoECore
import EMoEFormats
import EMoETestSupport
import Foundation
import Testing

@testable import EMoETokenizers

/// The SentencePiece (`llama`) GGUF tokenizer on a hand-made vocabulary whose answers can be
/// worked out by hand, and its refusals of malformed metadata.
@Suite("SentencePiece GGUF tokenizer")
struct SentencePieceTests {
  /// `<unk> <s> </s>`, the 256 byte tokens (ids 3...258), then `▁ a b ab ▁a ▁ab ba`.
  static let pieces =
    ["<unk>", "<s>", "</s>"] + (0..<256).map { String(format: "<0x%02X>", $0) }
    + ["▁", "a", "b", "ab", "▁a", "▁ab", "ba"]
  /// `ab` and `ba` tie, above `▁a`, above `▁ab`.
  static let scores: [Float] =
    [0, 0, 0] + Array(repeating: 0, count: 256) + [-10, -10, -10, -1, -2, -3, -1]
  static let types: [Int32] =
    [2, 3, 3] + Array(repeating: 6, count: 256) + Array(repeating: 1, count: 7)

  static func metadata(_ changes: [(key: String, value: GGUFValue?)] = [])
    -> [(key: String, value: GGUFValue)]
  {
    var base: [(key: String, value: GGUFValue)] = [
      ("tokenizer.ggml.model", .string("llama")),
      ("tokenizer.ggml.tokens", TokenizerErrorTests.strings(pieces)),
      (
        "tokenizer.ggml.scores",
        .array(elementType: .float32, elements: scores.map { .float32($0) })
      ),
      (
        "tokenizer.ggml.token_type", .array(elementType: .int32, elements: types.map { .int32($0) })
      ),
      ("tokenizer.ggml.bos_token_id", .uint32(1)), ("tokenizer.ggml.eos_token_id", .uint32(2)),
    ]
    for change in changes {
      base.removeAll { $0.key == change.key }
      if let value = change.value { base.append((change.key, value)) }
    }
    return base
  }

  static func load(_ changes: [(key: String, value: GGUFValue?)] = []) throws -> Tokenizer {
    let directory = try TemporaryDirectory()
    return try Tokenizer.load(gguf: TokenizerErrorTests.gguf(metadata(changes), in: directory))
  }

  @Test("Merges by highest score, leftmost on ties; byte fallback; space prefix; BOS and EOS")
  func handWorked() throws {
    let tokenizer = try Self.load()
    // ▁ a b a: `ab` (left 1) and `ba` (left 2) tie at -1, so `ab` merges, then `▁ab`.
    #expect(tokenizer.encode("aba", addSpecialTokens: false) == [264, 260])
    // ▁ b a b: `ba` (left 1) beats the tied `ab` (left 2); `▁ba` and `bab` are no pieces.
    #expect(tokenizer.encode("bab", addSpecialTokens: false) == [259, 265, 261])
    // `c` is no piece: its byte token <0x63>; `é` is two bytes.
    let byteToken: (Int32) -> Int32 = { 3 + $0 }
    let fallback: [Int32] = [259, byteToken(0x63), 259, byteToken(0xC3), byteToken(0xA9)]
    #expect(tokenizer.encode("c é", addSpecialTokens: false) == fallback)
    // BOS by default; the text after a control token gets its own space prefix, as in llama.cpp.
    #expect(tokenizer.encode("a<s>b") == [1, 263, 1, 259, 261])
    #expect(tokenizer.encode("") == [1])
    let plain = try Self.load([
      ("tokenizer.ggml.add_space_prefix", .bool(false)),
      ("tokenizer.ggml.add_bos_token", .bool(false)),
      ("tokenizer.ggml.add_eos_token", .bool(true)),
    ])
    #expect(plain.encode("a b") == [260, 259, 261, 2])
    // Without byte tokens, a character that is no piece is the unknown token.
    let noBytes = try Self.load([
      ("tokenizer.ggml.tokens", TokenizerErrorTests.strings(["<unk>", "<s>", "</s>", "▁", "a"])),
      ("tokenizer.ggml.scores", nil), ("tokenizer.ggml.token_type", nil),
      ("tokenizer.ggml.unknown_token_id", .uint32(0)),
    ])
    #expect(noBytes.encode("ax", addSpecialTokens: false) == [3, 4, 0])
  }

  @Test("Malformed scores, token types or special ids are refused with the file and key")
  func errors() throws {
    TokenizerErrorTests.expectError(
      {
        try Self.load([
          ("tokenizer.ggml.scores", .array(elementType: .int32, elements: [.int32(1)]))
        ])
      },
      key: "tokenizer.ggml.scores", containing: "must be an array of 32-bit floats")
    TokenizerErrorTests.expectError(
      {
        try Self.load([
          ("tokenizer.ggml.scores", .array(elementType: .float32, elements: [.float32(1)]))
        ])
      },
      key: "tokenizer.ggml.scores", containing: "has 1 scores for 266 tokens")
    var nanScores = Self.scores.map { GGUFValue.float32($0) }
    nanScores[5] = .float32(.nan)
    TokenizerErrorTests.expectError(
      {
        try Self.load([
          ("tokenizer.ggml.scores", .array(elementType: .float32, elements: nanScores))
        ])
      },
      key: "tokenizer.ggml.scores", containing: "score 5 is not a finite number")
    var badTypes = Self.types.map { GGUFValue.int32($0) }
    badTypes[7] = .int32(9)
    TokenizerErrorTests.expectError(
      {
        try Self.load([
          ("tokenizer.ggml.token_type", .array(elementType: .int32, elements: badTypes))
        ])
      },
      key: "tokenizer.ggml.token_type", containing: "token 7 has type 9")
    TokenizerErrorTests.expectError(
      {
        try Self.load([
          ("tokenizer.ggml.token_type", .array(elementType: .int32, elements: [.int32(1)]))
        ])
      },
      key: "tokenizer.ggml.token_type", containing: "has 1 types for 266 tokens")
    TokenizerErrorTests.expectError(
      { try Self.load([("tokenizer.ggml.token_type", .string("normal"))]) },
      key: "tokenizer.ggml.token_type", containing: "must be an array of integers")
    TokenizerErrorTests.expectError(
      { try Self.load([("tokenizer.ggml.bos_token_id", .uint32(999))]) },
      key: "tokenizer.ggml.bos_token_id", containing: "is not a token id")
    TokenizerErrorTests.expectError(
      { try Self.load([("tokenizer.ggml.add_space_prefix", .uint8(1))]) },
      key: "tokenizer.ggml.add_space_prefix", containing: "must be a boolean")
  }

  @Test("tokenizer.json character-level BPE: unsupported normalisers and pre-tokenizers refused")
  func jsonErrors() throws {
    let directory = try TemporaryDirectory()
    let path = directory.path + "/tokenizer.json"
    let model =
      #""model": {"type": "BPE", "byte_fallback": true, "unk_token": "<unk>", "vocab": {"<unk>": 0, "\#u{2581}": 1, "a": 2, "\#u{2581}a": 3}, "merges": ["\#u{2581} a"]}"#
    func load(_ rest: String) throws -> Tokenizer {
      try Data(("{" + model + ", " + rest + "}").utf8).write(to: URL(fileURLWithPath: path))
      return try Tokenizer.load(path: path)
    }
    let good = try load(
      #""normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "\#u{2581}"}, {"type": "Replace", "pattern": {"String": " "}, "content": "\#u{2581}"}]}"#
    )
    // ▁ a merges; x has no byte tokens, so it is the unknown token.
    #expect(good.encode("a x", addSpecialTokens: false) == [3, 1, 0])
    TokenizerErrorTests.expectError(
      { try load(#""normalizer": {"type": "Lowercase"}"#) }, key: "normalizer",
      containing: "not supported with a character-level BPE")
    TokenizerErrorTests.expectError(
      { try load(#""pre_tokenizer": {"type": "Metaspace", "replacement": "_"}"#) },
      key: "pre_tokenizer", containing: "not supported with a character-level BPE")
    TokenizerErrorTests.expectError(
      { try load(#""normalizer": null"#) }, key: "normalizer",
      containing: "needs spaces replaced")
  }
}
