import EMoECore

/// How a byte-level BPE `tokenizer.json` prepares a text before merging: its normaliser (none,
/// or Unicode NFC as Qwen2's) and its split pattern (``PreTokenizer``).
///
/// This is the one place that reads a `tokenizer.json`'s `normalizer` and `pre_tokenizer` for
/// byte-level BPE: ``Tokenizer/load(tokenizerJSON:)`` builds its tokenizer from it, and the GGUF
/// export names llama.cpp's `tokenizer.ggml.pre` from the ``preTokenizer`` it gives, so the two
/// accept the same files.
public struct ByteLevelSplit: Sendable, Equatable {
  /// The split pattern.
  public var preTokenizer: PreTokenizer
  /// Whether the text is put in Unicode Normalization Form C first.
  public var normalizesNFC: Bool

  /// Creates a split.
  public init(preTokenizer: PreTokenizer, normalizesNFC: Bool = false) {
    self.preTokenizer = preTokenizer
    self.normalizesNFC = normalizesNFC
  }

  /// Recognises the `normalizer` and `pre_tokenizer` of the `tokenizer.json` `root` read from
  /// `file`.
  ///
  /// Accepted: no normaliser or `NFC`; `ByteLevel` alone (GPT-2), `Digits` (individual) then
  /// `ByteLevel` (SmolLM), and `Split` with LLaMA 3's or Qwen2's pattern then `ByteLevel`
  /// without its own regex. `ByteLevel` must not add a prefix space.
  ///
  /// - Throws: ``TokenizerError`` naming the JSON key of anything else.
  public init(tokenizerJSON root: JSONValue, file: String) throws(TokenizerError) {
    func fail(_ key: String, _ reason: String) -> TokenizerError {
      TokenizerError(reason, location: ErrorLocation(file: file, key: key))
    }
    let normalizer = root["normalizer"] ?? .null
    guard normalizer == .null || normalizer["type"]?.stringValue == "NFC" else {
      throw fail(
        "normalizer", "a normalizer before byte-level BPE is not supported (supported: none, NFC)")
    }
    normalizesNFC = normalizer != .null
    let value = root["pre_tokenizer"] ?? .null
    guard value.objectValue != nil else { throw fail("pre_tokenizer", "must be an object") }
    let steps =
      value["type"]?.stringValue == "Sequence"
      ? (value["pretokenizers"]?.arrayValue ?? []) : [value]
    func isByteLevel(_ step: JSONValue, regex: Bool) -> Bool {
      step["type"]?.stringValue == "ByteLevel" && step["add_prefix_space"]?.boolValue != true
        && (step["use_regex"]?.boolValue ?? true) == regex
    }
    if steps.count == 1, isByteLevel(steps[0], regex: true) {
      preTokenizer = .gpt2
    } else if steps.count == 2, steps[0]["type"]?.stringValue == "Digits",
      steps[0]["individual_digits"]?.boolValue == true, isByteLevel(steps[1], regex: true)
    {
      preTokenizer = .digitsThenGPT2
    } else if steps.count == 2, steps[0]["type"]?.stringValue == "Split",
      steps[0]["behavior"]?.stringValue == "Isolated", steps[0]["invert"]?.boolValue != true,
      isByteLevel(steps[1], regex: false),
      let pattern = steps[0]["pattern"]?["Regex"]?.stringValue,
      let split = Self.splitPatterns[pattern]
    {
      preTokenizer = split
    } else {
      throw fail(
        "pre_tokenizer",
        "this pre-tokenizer is not supported (supported: ByteLevel; Digits then ByteLevel; "
          + "LLaMA 3's or Qwen2's Split then ByteLevel)")
    }
  }

  /// The `Split` regexes recognised, as `tokenizer.json` spells them.
  static let splitPatterns: [String: PreTokenizer] = [
    #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#:
      .llama3,
    #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#:
      .qwen2,
  ]
}
