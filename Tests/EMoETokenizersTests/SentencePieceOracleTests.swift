import EMoECore
import EMoEFormats
import EMoETestSupport
import Foundation
import Testing

@testable import EMoETokenizers

/// The SentencePiece (`llama`) GGUF tokenizer against the `sentencepiece` package: a small BPE
/// model with byte fallback trained on one licence text, written to GGUF as llama.cpp's
/// converter writes SentencePiece vocabularies, encodes every licence text and a text of
/// accents, CJK and emoji as `sentencepiece` does.
@Suite("SentencePiece GGUF tokenizer against sentencepiece")
struct SentencePieceOracleTests {
  /// Python: trains a BPE model on argv[2] into folder argv[1], writes `spm.gguf` there with
  /// gguf-py (tokens, scores and token types from the model's pieces), and prints the ids of
  /// each text argv[3...] as one JSON object.
  static let script = #"""
    import json, sys, os
    import sentencepiece as spm
    from gguf import GGUFWriter, TokenType
    out, train = sys.argv[1], sys.argv[2]
    prefix = os.path.join(out, "spm")
    spm.SentencePieceTrainer.train(
        input=train, model_prefix=prefix, model_type="bpe", vocab_size=2000, byte_fallback=True,
        normalization_rule_name="identity", remove_extra_whitespaces=False, add_dummy_prefix=True,
        split_digits=True, hard_vocab_limit=False, num_threads=1, minloglevel=2)
    sp = spm.SentencePieceProcessor(model_file=prefix + ".model")
    tokens, scores, types = [], [], []
    for i in range(sp.vocab_size()):
        tokens.append(sp.id_to_piece(i))
        scores.append(sp.get_score(i))
        types.append(TokenType.UNKNOWN if sp.is_unknown(i) else TokenType.CONTROL if sp.is_control(i)
                     else TokenType.UNUSED if sp.is_unused(i) else TokenType.BYTE if sp.is_byte(i)
                     else TokenType.NORMAL)
    w = GGUFWriter(os.path.join(out, "spm.gguf"), "llama")
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(sp.bos_id())
    w.add_eos_token_id(sp.eos_id())
    w.add_unk_token_id(sp.unk_id())
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    w.add_add_space_prefix(True)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(json.dumps({p: sp.encode(open(p, encoding="utf-8", newline="").read()) for p in sys.argv[3:]}))
    """#

  /// Accents, CJK, emoji, odd spaces and runs of spaces: characters the small vocabulary lacks
  /// go through byte fallback.
  static let unicodeText = """
    Héllo wörld, naïve café — “quotes” ‘single’ … 中文字符测试 日本語 한국어 🎉🙂 e\u{301}
    tabs\there   trailing spaces   \n\n\nend!!! 123456789 ½ Ⅻ ٣٤٥ \u{00A0}nbsp\u{2003}em
      leading spaces, Ελληνικά, русский текст, עברית, 👩‍👩‍👧‍👦 family, ✓ done.
    """

  @Test(
    "A trained BPE vocabulary with byte fallback: the GGUF tokenizer's ids equal sentencepiece's",
    .enabled(if: Oracles.python(["sentencepiece", "gguf"])))
  func licences() throws {
    try PythonOracle.require(["sentencepiece", "gguf"])
    let directory = try TemporaryDirectory()
    let licences = try FileManager.default.contentsOfDirectory(atPath: "/usr/share/common-licenses")
      .sorted().map { "/usr/share/common-licenses/" + $0 }
      .filter { FileSystem.size($0).map { $0 > 1000 } ?? false }
    let unicode = directory.path + "/unicode.txt"
    try Data(Self.unicodeText.utf8).write(to: URL(fileURLWithPath: unicode))
    let texts = licences + [unicode]
    let expected = try TokenizerOracleTests.oracleIDs(
      Self.script, [directory.path, "/usr/share/common-licenses/GPL-3"] + texts)
    let tokenizer = try Tokenizer.load(path: directory.path + "/spm.gguf")
    guard case .sentencePiece(let model) = tokenizer.model else {
      Issue.record("the llama GGUF did not load as SentencePiece")
      return
    }
    #expect(model.addsSpacePrefix)
    #expect(tokenizer.prefix == [1] && tokenizer.suffix.isEmpty)
    try TokenizerOracleTests.expectSame(tokenizer, expected, texts: texts, addSpecial: false)
    // The unicode text needs byte fallback (ids 3...258 are <0x00>...<0xFF>).
    let unicodeIDs = try #require(expected[unicode])
    #expect(unicodeIDs.contains { (3...258).contains($0) })
    // With special tokens, BOS comes first, as llama.cpp adds it.
    let text = try String(contentsOfFile: unicode, encoding: .utf8)
    #expect(tokenizer.encode(text) == [1] + unicodeIDs)
  }

  /// Python: the vocabulary of ``script``'s training as a `tokenizers` BPE with byte fallback.
  ///
  /// Merges of every two pieces whose concatenation is a piece, ordered by that
  /// piece's id (as transformers' SentencePiece extractor orders them); argv[3] picks LLaMA 2's
  /// `Prepend` + `Replace` normaliser or Mistral's `Metaspace` (`first`, or `always` with
  /// `split`). Saves tokenizer.json in argv[1] and prints the ids of each text argv[4...].
  static let jsonScript = #"""
    import json, sys, os
    import sentencepiece as spm
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, AddedToken
    out, train, kind = sys.argv[1], sys.argv[2], sys.argv[3]
    prefix = os.path.join(out, "spm")
    spm.SentencePieceTrainer.train(
        input=train, model_prefix=prefix, model_type="bpe", vocab_size=2000, byte_fallback=True,
        normalization_rule_name="identity", remove_extra_whitespaces=False, add_dummy_prefix=True,
        split_digits=True, hard_vocab_limit=False, num_threads=1, minloglevel=2)
    sp = spm.SentencePieceProcessor(model_file=prefix + ".model")
    vocab = {sp.id_to_piece(i): i for i in range(sp.vocab_size())}
    merges = []
    for left in vocab:
        for right in vocab:
            merged = vocab.get(left + right)
            if merged is not None and not sp.is_byte(merged) and not sp.is_control(merged):
                merges.append((merged, vocab[left], vocab[right], left, right))
    merges = [(l, r) for _, _, _, l, r in sorted(merges)]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", byte_fallback=True,
                               fuse_unk=True))
    if kind == "prepend":
        tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    elif kind == "first":
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    else:
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in ("<unk>", "<s>", "</s>")])
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
    tok.save(os.path.join(out, "tokenizer.json"))
    print(json.dumps({p: tok.encode(open(p, encoding="utf-8", newline="").read(), add_special_tokens=False).ids
                      for p in sys.argv[4:]}))
    """#

  @Test(
    "The same vocabulary as a tokenizer.json BPE with byte fallback: ids equal tokenizers'",
    .enabled(if: Oracles.python(["sentencepiece", "tokenizers"])),
    arguments: ["prepend", "first", "always-split"])
  func tokenizerJSON(kind: String) throws {
    try PythonOracle.require(["sentencepiece", "tokenizers"])
    let directory = try TemporaryDirectory()
    let licences = try FileManager.default.contentsOfDirectory(atPath: "/usr/share/common-licenses")
      .sorted().map { "/usr/share/common-licenses/" + $0 }
      .filter { FileSystem.size($0).map { $0 > 1000 } ?? false }
    let unicode = directory.path + "/unicode.txt"
    // Special tokens inside the text: the run after one starts without the text's start.
    try Data((Self.unicodeText + " a<s>b</s>  c <unk>\n").utf8).write(
      to: URL(fileURLWithPath: unicode))
    let texts = licences + [unicode]
    let expected = try TokenizerOracleTests.oracleIDs(
      Self.jsonScript, [directory.path, "/usr/share/common-licenses/GPL-3", kind] + texts)
    let tokenizer = try Tokenizer.load(path: directory.path + "/tokenizer.json")
    guard case .characterPair(let model) = tokenizer.model else {
      Issue.record("the tokenizer.json did not load as a character-level BPE")
      return
    }
    #expect(model.byteIDs != nil && model.fusesUnknown)
    #expect(tokenizer.prefix == [1])
    try TokenizerOracleTests.expectSame(tokenizer, expected, texts: texts, addSpecial: false)
  }
}
