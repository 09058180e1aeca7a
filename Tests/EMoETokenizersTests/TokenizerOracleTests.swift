import EMoECore
import EMoEFormats
import EMoETestSupport
import Foundation
import Testing

@testable import EMoETokenizers

/// The tokenizers against the Hugging Face `tokenizers` package on long real texts: the licence
/// texts every Debian system ships, and a short text of the cases the split patterns treat
/// specially (contractions, digit runs, whitespace before newlines, accents, CJK, emoji).
@Suite("Tokenizers against Hugging Face tokenizers")
struct TokenizerOracleTests {
  /// The evaluation texts: every licence text of the machine, and the tricky text.
  static func texts(in directory: String) throws -> [String] {
    let licences = try FileManager.default.contentsOfDirectory(atPath: "/usr/share/common-licenses")
      .sorted().map { "/usr/share/common-licenses/" + $0 }
      .filter { FileSystem.size($0).map { $0 > 1000 } ?? false }
    let tricky = directory + "/tricky.txt"
    try Data(Self.trickyText.utf8).write(to: URL(fileURLWithPath: tricky))
    return licences + [tricky]
  }

  static let trickyText = """
    Hello world's DON'T we'll   I'M they've  x\t\n\n   y\r\n  123456789 +12.5e-3 ½ Ⅻ ٣٤٥
    Héllo wörld, naïve café — “quotes” ‘single’ … 中文字符测试 日本語 한국어 🎉🙂 e\u{301}
    tabs\there   trailing spaces   \n\n\nend!!! ??? ... ''' 's 'S 'Re 'LL
    <|endoftext|> [CLS] unusual\u{00A0}space\u{2003}em \u{200B}zero-width  mixed123abc456
    """

  /// Runs `script` (which prints one JSON object of text path → ids) and decodes it.
  static func oracleIDs(_ script: String, _ arguments: [String]) throws -> [String: [Int32]] {
    let output = try PythonOracle.check(script, arguments: arguments)
    let value = try JSONValue.parse(output)
    var result: [String: [Int32]] = [:]
    for member in value.objectValue ?? [] {
      result[member.key] = (member.value.arrayValue ?? []).map { Int32($0.intValue ?? -1) }
    }
    return result
  }

  static func expectSame(
    _ tokenizer: Tokenizer, _ expected: [String: [Int32]], texts: [String], addSpecial: Bool,
    sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    var total = 0
    for path in texts {
      let text = try String(contentsOfFile: path, encoding: .utf8)
      let ids = tokenizer.encode(text, addSpecialTokens: addSpecial)
      let want = try #require(expected[path], sourceLocation: sourceLocation)
      total += want.count
      if ids != want {
        let first =
          zip(ids, want).enumerated().first { $0.element.0 != $0.element.1 }?.offset
          ?? min(ids.count, want.count)
        let message =
          "\(path): \(ids.count) ids, oracle \(want.count); first difference at \(first): "
          + "ours \(Array(ids[first..<min(ids.count, first + 6)])) "
          + "oracle \(Array(want[first..<min(want.count, first + 6)]))"
        Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
      }
    }
    #expect(total > 50_000, "the texts are long", sourceLocation: sourceLocation)
  }

  /// Python: the SmolLM2 GGUF's vocabulary and merges as a `tokenizers` BPE with the
  /// pre-tokenizer named in argv[2]; saves it as tokenizer.json in argv[3]; prints the ids.
  static let smolScript = #"""
    import json, sys
    from gguf import GGUFReader
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, Regex, AddedToken
    r = GGUFReader(sys.argv[1])
    def strings(key):
        f = r.fields[key]
        return [bytes(f.parts[i]).decode("utf-8") for i in f.data]
    tokens = strings("tokenizer.ggml.tokens")
    merges = [tuple(m.split(" ", 1)) for m in strings("tokenizer.ggml.merges")]
    types = [int(r.fields["tokenizer.ggml.token_type"].parts[i][0]) for i in r.fields["tokenizer.ggml.token_type"].data]
    kind = sys.argv[2]
    tok = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=merges,
                               ignore_merges=(kind == "llama3")))
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=(kind not in ("llama3", "qwen2")))
    if kind == "gpt2":
        tok.pre_tokenizer = byte_level
    elif kind == "smollm":
        tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
    else:
        digits = r"\p{N}" if kind == "qwen2" else r"\p{N}{1,3}"
        pattern = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|" + digits + r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
        if kind == "qwen2":
            tok.normalizer = normalizers.NFC()
        tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(pattern), "isolated"), byte_level])
    tok.add_special_tokens([AddedToken(tokens[i], special=True, normalized=False) for i, t in enumerate(types) if t in (3, 4)])
    tok.save(sys.argv[3])
    print(json.dumps({p: tok.encode(open(p, encoding="utf-8", newline="").read(), add_special_tokens=False).ids for p in sys.argv[4:]}))
    """#

  @Test(
    "SmolLM2's GGUF tokenizer and its tokenizer.json forms, with each byte-level pre-tokenizer",
    .enabled(if: Oracles.smolLM2 && Oracles.python(["gguf", "tokenizers"])),
    arguments: [PreTokenizer.digitsThenGPT2, .gpt2, .llama3, .qwen2])
  func smolLM2(pre: PreTokenizer) throws {
    let model = try #require(try TestPaths.smolLM2())
    let directory = try TemporaryDirectory()
    let texts = try Self.texts(in: directory.path)
    let name = ["digitsThenGPT2": "smollm", "gpt2": "gpt2", "llama3": "llama3", "qwen2": "qwen2"][
      pre.rawValue]!
    let json = directory.path + "/tokenizer.json"
    let expected = try Self.oracleIDs(Self.smolScript, [model, name, json] + texts)
    let gguf = try Tokenizer.load(gguf: GGUFFile(path: model))
    guard case .bytePair(let bytePair, let loadedPre) = gguf.model else {
      Issue.record("SmolLM2's GGUF tokenizer is not byte-level BPE")
      return
    }
    #expect(loadedPre == .digitsThenGPT2, "the GGUF names the smollm pre-tokenizer")
    let variant = Tokenizer(
      model: .bytePair(
        BytePairModel(
          ids: bytePair.ids, merges: bytePair.merges, byteIDs: bytePair.byteIDs,
          ignoresMerges: pre == .llama3), pre),
      addedTokens: gguf.addedTokens, prefix: [], suffix: [], vocabularySize: gguf.vocabularySize,
      summary: gguf.summary, normalizesNFC: pre == .qwen2)
    try Self.expectSame(variant, expected, texts: texts, addSpecial: false)
    // The same tokenizer read back from the tokenizer.json the oracle saved.
    let fromJSON = try Tokenizer.load(tokenizerJSON: json)
    guard case .bytePair(_, let jsonPre) = fromJSON.model else {
      Issue.record("tokenizer.json did not load as BPE")
      return
    }
    #expect(jsonPre == pre)
    // Qwen2's NFC normaliser is read from the file (the tricky text has a decomposed é).
    #expect(fromJSON.normalizesNFC == (pre == .qwen2))
    try Self.expectSame(fromJSON, expected, texts: texts, addSpecial: false)
  }

  @Test(
    "MiniLM's WordPiece tokenizer.json, with [CLS] and [SEP]",
    .enabled(if: Oracles.miniLM && Oracles.python(["tokenizers"])))
  func miniLM() throws {
    let model = try #require(try TestPaths.miniLM())
    let directory = try TemporaryDirectory()
    let texts = try Self.texts(in: directory.path)
    let script = #"""
      import json, sys
      from tokenizers import Tokenizer
      tok = Tokenizer.from_file(sys.argv[1])
      tok.no_truncation(); tok.no_padding()
      print(json.dumps({p: tok.encode(open(p, encoding="utf-8", newline="").read()).ids for p in sys.argv[2:]}))
      """#
    let tokenizerPath = FileSystem.directory(of: model) + "/tokenizer.json"
    let expected = try Self.oracleIDs(script, [tokenizerPath] + texts)
    let tokenizer = try Tokenizer.load(path: model)
    #expect(tokenizer.prefix == [101] && tokenizer.suffix == [102])
    try Self.expectSame(tokenizer, expected, texts: texts, addSpecial: true)
  }
}
