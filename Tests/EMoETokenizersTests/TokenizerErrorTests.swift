import EMoECore
import EMoEFormats
import EMoETestSupport
import Foundation
import Testing

@testable import EMoETokenizers

/// Tokenizers that cannot be built are refused with the file and key named, never guessed.
@Suite("Tokenizer errors")
struct TokenizerErrorTests {
  /// A GGUF holding `metadata` and no tensors.
  static func gguf(_ metadata: [(key: String, value: GGUFValue)], in directory: TemporaryDirectory)
    throws -> GGUFFile
  {
    let path = directory.path + "/model.gguf"
    try GGUFWriter.write(to: path, metadata: metadata, tensors: [])
    return try GGUFFile(path: path)
  }

  static func strings(_ values: [String]) -> GGUFValue {
    .array(elementType: .string, elements: values.map { .string($0) })
  }

  /// A two-letter byte-level vocabulary: every byte's symbol, then the merge `a b`.
  static let vocabulary = ByteLevelAlphabet.characters.map { String($0) } + ["ab"]

  static func expectError(
    _ body: () throws -> Tokenizer, key: String?, containing text: String,
    sourceLocation: SourceLocation = #_sourceLocation
  ) {
    do {
      _ = try body()
      Issue.record("no error", sourceLocation: sourceLocation)
    } catch let error as TokenizerError {
      #expect(error.location.key == key, sourceLocation: sourceLocation)
      #expect(
        error.description.contains(text), "\(error.description)", sourceLocation: sourceLocation)
    } catch {
      Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
    }
  }

  @Test("A tiny GGUF byte-level tokenizer merges and adds BOS as its metadata says")
  func tinyGGUF() throws {
    let directory = try TemporaryDirectory()
    let file = try Self.gguf(
      [
        ("tokenizer.ggml.model", .string("gpt2")), ("tokenizer.ggml.pre", .string("smollm")),
        ("tokenizer.ggml.tokens", Self.strings(Self.vocabulary + ["<s>"])),
        ("tokenizer.ggml.merges", Self.strings(["a b"])),
        (
          "tokenizer.ggml.token_type",
          .array(
            elementType: .int32, elements: Array(repeating: .int32(1), count: 257) + [.int32(3)])
        ),
        ("tokenizer.ggml.add_bos_token", .bool(true)),
        ("tokenizer.ggml.bos_token_id", .uint32(257)),
      ], in: directory)
    let tokenizer = try Tokenizer.load(gguf: file)
    // The vocabulary lists the byte symbols in byte order, so a byte's id is its value.
    let space = Int32(ByteLevelAlphabet.characters.firstIndex(of: "Ġ")!)
    #expect(space == 0x20)
    // "ab" merges; " ab" is one piece (space + letters) whose space stays a symbol; "<s>" is
    // matched verbatim; digits are pieces of their own.
    #expect(tokenizer.encode("ab ab<s>a1") == [257, 256, space, 256, 257, 0x61, 0x31])
    #expect(tokenizer.encode("ab", addSpecialTokens: false) == [256])
  }

  @Test("GGUF: a missing tokenizer, an unsupported model or pre-tokenizer, a bad merge")
  func ggufErrors() throws {
    let directory = try TemporaryDirectory()
    let base: [(key: String, value: GGUFValue)] = [
      ("tokenizer.ggml.model", .string("gpt2")), ("tokenizer.ggml.pre", .string("smollm")),
      ("tokenizer.ggml.tokens", Self.strings(Self.vocabulary)),
      ("tokenizer.ggml.merges", Self.strings(["a b"])),
    ]
    func replacing(_ key: String, _ value: GGUFValue?) -> [(key: String, value: GGUFValue)] {
      base.compactMap { $0.key == key ? value.map { (key, $0) } : $0 }
    }
    Self.expectError(
      { try Tokenizer.load(gguf: Self.gguf([("general.name", .string("x"))], in: directory)) },
      key: "tokenizer.ggml.model", containing: "has no tokenizer")
    Self.expectError(
      {
        try Tokenizer.load(
          gguf: Self.gguf(replacing("tokenizer.ggml.model", .string("rwkv")), in: directory))
      },
      key: "tokenizer.ggml.model", containing: "'rwkv' is not supported")
    Self.expectError(
      {
        try Tokenizer.load(
          gguf: Self.gguf(replacing("tokenizer.ggml.pre", .string("deepseek-llm")), in: directory))
      },
      key: "tokenizer.ggml.pre", containing: "'deepseek-llm' is not supported")
    Self.expectError(
      {
        try Tokenizer.load(
          gguf: Self.gguf(
            replacing("tokenizer.ggml.merges", Self.strings(["a b", "ab"])), in: directory))
      },
      key: "tokenizer.ggml.merges", containing: "merge 1 'ab' is not two tokens")
    Self.expectError(
      {
        try Tokenizer.load(
          gguf: Self.gguf(
            replacing("tokenizer.ggml.merges", Self.strings(["a b", "b ab"])), in: directory))
      },
      key: "tokenizer.ggml.merges",
      containing: "merge 1: merge 'b ab' names a token not in the vocabulary")
    Self.expectError(
      {
        try Tokenizer.load(
          gguf: Self.gguf(replacing("tokenizer.ggml.tokens", .uint32(3)), in: directory))
      },
      key: "tokenizer.ggml.tokens", containing: "must be an array of strings")
  }

  @Test("tokenizer.json: unsupported models and pre-tokenizers, malformed merges, no file")
  func jsonErrors() throws {
    let directory = try TemporaryDirectory()
    let path = directory.path + "/tokenizer.json"
    func write(_ text: String) throws { try Data(text.utf8).write(to: URL(fileURLWithPath: path)) }
    let vocab = #"{"a": 0, "b": 1, "ab": 2}"#
    try write(#"{"model": {"type": "Unigram", "vocab": []}}"#)
    Self.expectError(
      { try Tokenizer.load(path: path) }, key: "model.type",
      containing: "'Unigram' is not supported")
    try write(
      #"{"model": {"type": "BPE", "vocab": \#(vocab), "merges": ["a b"]}, "pre_tokenizer": {"type": "Whitespace"}}"#
    )
    Self.expectError(
      { try Tokenizer.load(path: path) }, key: "pre_tokenizer", containing: "not supported")
    try write(
      #"{"model": {"type": "BPE", "vocab": \#(vocab), "merges": [7]}, "pre_tokenizer": {"type": "ByteLevel"}}"#
    )
    Self.expectError(
      { try Tokenizer.load(path: path) }, key: "model.merges[0]", containing: "must be")
    try write(#"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 0}, "merges": []}}"#)
    Self.expectError(
      { try Tokenizer.load(path: path) }, key: "model.vocab.b", containing: "each once")
    try write(#"{"model": {"type": "BPE", "#)
    Self.expectError({ try Tokenizer.load(path: path) }, key: nil, containing: "(byte ")
    // A safetensors checkpoint without a tokenizer.json beside it.
    let checkpoint = directory.path + "/sub/model.safetensors"
    try FileManager.default.createDirectory(
      atPath: directory.path + "/sub", withIntermediateDirectories: true)
    try SafeTensorsWriter.write(
      to: checkpoint, tensors: [Tensor(name: "w", shape: [1], float32: [0])])
    Self.expectError({ try Tokenizer.load(path: checkpoint) }, key: nil, containing: "no tokenizer")
  }
}
