/// A model's own tokenizer: text in, token ids out, equal to the Hugging Face `tokenizers`
/// package's ids for the same vocabulary.
///
/// Built from a GGUF file's `tokenizer.ggml.*` metadata (byte-level BPE as in GPT-2, SmolLM2 and
/// LLaMA 3, or SentencePiece BPE as in LLaMA 2 and Mistral) or from a `tokenizer.json` (byte-level BPE, or BERT's WordPiece); see
/// ``Tokenizer/load(path:)``.
public struct Tokenizer: Sendable {
  /// The model that turns a run of ordinary text into ids.
  enum Model: Sendable {
    case bytePair(BytePairModel, PreTokenizer)
    case wordPiece(WordPieceModel)
    case sentencePiece(SentencePieceModel)
    case characterPair(CharacterPairModel)
  }

  let model: Model
  /// Tokens matched verbatim in the text before the model sees it, longest first.
  let addedTokens: [(text: [UInt8], id: Int32)]
  /// The ids written before a sequence when special tokens are added (`[CLS]`, BOS).
  public let prefix: [Int32]
  /// The ids written after a sequence when special tokens are added (`[SEP]`).
  public let suffix: [Int32]
  /// The number of ids the vocabulary defines.
  public let vocabularySize: Int
  /// What the tokenizer was built from, for reports: `GGUF gpt2/smollm`, `tokenizer.json WordPiece`.
  public let summary: String
  /// Whether a byte-level BPE puts each run of text in Unicode NFC before splitting it
  /// (Qwen2's `NFC` normaliser; ``ByteLevelSplit``).
  var normalizesNFC = false

  /// The ids of `text`, with the model's special tokens around it when `addSpecialTokens`.
  public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int32] {
    var output: [Int32] = addSpecialTokens ? prefix : []
    var cache: [ArraySlice<UInt8>: [Int32]] = [:]
    let bytes = Array(text.utf8)
    var segmentStart = 0
    var index = 0
    while index < bytes.count {
      if let (length, id) = addedToken(in: bytes, at: index) {
        encodeSegment(bytes[segmentStart..<index], cache: &cache, into: &output)
        output.append(id)
        index += length
        segmentStart = index
      } else {
        index += 1
      }
    }
    encodeSegment(bytes[segmentStart..<bytes.count], cache: &cache, into: &output)
    if addSpecialTokens { output += suffix }
    return output
  }

  /// The longest added token starting at byte `index`, if any.
  private func addedToken(in bytes: [UInt8], at index: Int) -> (Int, Int32)? {
    for token in addedTokens where token.text.first == bytes[index] {
      let end = index + token.text.count
      if end <= bytes.count && bytes[index..<end].elementsEqual(token.text) {
        return (token.text.count, token.id)
      }
    }
    return nil
  }

  private func encodeSegment(
    _ segment: ArraySlice<UInt8>, cache: inout [ArraySlice<UInt8>: [Int32]],
    into output: inout [Int32]
  ) {
    guard !segment.isEmpty else { return }
    // Segments are cut at whole added tokens inside valid UTF-8, so they are valid UTF-8.
    let text = String(decoding: segment, as: UTF8.self)
    switch model {
    case .wordPiece(let wordPiece):
      wordPiece.encode(Substring(text), into: &output)
    case .sentencePiece(let sentencePiece):
      // Every run of text starts the input or follows a special token, which is where
      // llama.cpp puts the space prefix.
      sentencePiece.encode(Substring(text), into: &output)
    case .characterPair(let characterPair):
      characterPair.encode(Substring(text), atStart: segment.startIndex == 0, into: &output)
    case .bytePair(let bytePair, let preTokenizer):
      let text = normalizesNFC ? Self.nfc(text) : text
      let segment = normalizesNFC ? ArraySlice(text.utf8) : segment
      let scalars = Array(text.unicodeScalars)
      // UTF-8 offset of each scalar, so a piece's bytes are a slice of the segment.
      var offsets = [Int](repeating: 0, count: scalars.count + 1)
      var offset = segment.startIndex
      for (index, scalar) in scalars.enumerated() {
        offsets[index] = offset
        offset += UTF8.width(scalar)
      }
      offsets[scalars.count] = offset
      for piece in preTokenizer.pieces(scalars) {
        let word = segment[offsets[piece.lowerBound]..<offsets[piece.upperBound]]
        if let known = cache[word] {
          output += known
          continue
        }
        var ids: [Int32] = []
        bytePair.encode(word, into: &ids)
        cache[word] = ids
        output += ids
      }
    }
  }
}
