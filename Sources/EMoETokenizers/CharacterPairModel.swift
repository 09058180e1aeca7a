/// A Hugging Face `BPE` over characters with byte fallback, as LLaMA 2 and Mistral
/// `tokenizer.json` files describe their SentencePiece vocabularies.
///
/// Spaces become U+2581 and one is put in front as the file's `Prepend` normaliser or
/// `Metaspace` pre-tokenizer says; each character is its vocabulary token, or its bytes'
/// `<0xXX>` tokens, or the unknown token (consecutive unknowns fused when `fuse_unk`); then the
/// adjacent pair of lowest merge rank (leftmost on ties) merges until none is ranked. This is
/// the `tokenizers` package's `BPE` with `byte_fallback`.
struct CharacterPairModel: Sendable {
  /// When a run of text gets a `▁` in front.
  enum SpacePrefix: Sendable {
    /// Always (the `Prepend` normaliser; `Metaspace` with `prepend_scheme` `always`).
    case always
    /// Only the run at the start of the text (`Metaspace`, `prepend_scheme` `first`).
    case first
    /// Never.
    case never
  }

  /// The vocabulary and ranked merges.
  let pairs: BytePairModel
  /// The `<0xXX>` token of each byte (-1 when the vocabulary lacks it), when the model falls
  /// back to bytes.
  let byteIDs: [Int32]?
  /// The unknown token, when the model has one.
  let unknownID: Int32?
  /// Whether consecutive unknown characters become one unknown token.
  let fusesUnknown: Bool
  /// When a `▁` is put in front.
  let spacePrefix: SpacePrefix
  /// Whether a `▁` already in front of the run prevents the prefix (`Metaspace`'s rule; the
  /// `Prepend` normaliser always adds it).
  let prefixUnlessPresent: Bool
  /// Whether the text is cut before each `▁` into words merged separately (`Metaspace` with
  /// `split`).
  let splitsWords: Bool

  /// Appends the ids of `text` to `output`; `atStart` when the run starts the whole text.
  func encode(_ text: Substring, atStart: Bool, into output: inout [Int32]) {
    var scalars = String.UnicodeScalarView()
    let marker: Unicode.Scalar = "\u{2581}"
    let prefix: Bool
    switch spacePrefix {
    case .always: prefix = true
    case .first: prefix = atStart
    case .never: prefix = false
    }
    let startsWithMarker = text.unicodeScalars.first.map { $0 == " " || $0 == marker } ?? false
    if prefix && !text.isEmpty && !(prefixUnlessPresent && startsWithMarker) {
      scalars.append(marker)
    }
    for scalar in text.unicodeScalars { scalars.append(scalar == " " ? marker : scalar) }
    guard splitsWords else {
      encodeWord(scalars[...], into: &output)
      return
    }
    var start = scalars.startIndex
    var index = scalars.startIndex
    while index < scalars.endIndex {
      if scalars[index] == marker && index > start {
        encodeWord(scalars[start..<index], into: &output)
        start = index
      }
      index = scalars.index(after: index)
    }
    if start < scalars.endIndex { encodeWord(scalars[start...], into: &output) }
  }

  /// A symbol of a word being merged: its id and neighbours (-1 at the ends).
  private struct Symbol {
    var id: Int32
    var previous: Int
    var next: Int
    var alive = true
  }

  /// A candidate merge at `position` (the left symbol) giving `result`.
  private struct Candidate {
    var rank: Int32
    var position: Int
    var result: Int32

    /// Lower rank first, then further left.
    func precedes(_ other: Candidate) -> Bool {
      rank < other.rank || (rank == other.rank && position < other.position)
    }
  }

  private func encodeWord(_ word: Substring.UnicodeScalarView, into output: inout [Int32]) {
    var ids: [Int32] = []
    var previousUnknown = false
    for scalar in word {
      if let id = pairs.ids[String(scalar)] {
        ids.append(id)
        previousUnknown = false
        continue
      }
      if let byteIDs, String(scalar).utf8.allSatisfy({ byteIDs[Int($0)] >= 0 }) {
        for byte in String(scalar).utf8 { ids.append(byteIDs[Int(byte)]) }
        previousUnknown = false
        continue
      }
      guard let unknownID else { continue }
      if !(fusesUnknown && previousUnknown) { ids.append(unknownID) }
      previousUnknown = true
    }
    var symbols = ids.indices.map {
      Symbol(id: ids[$0], previous: $0 - 1, next: $0 + 1 < ids.count ? $0 + 1 : -1)
    }
    var heap: [Candidate] = []
    func push(_ position: Int) {
      guard position >= 0, symbols[position].next >= 0 else { return }
      let pair = BytePairModel.MergePair(
        left: symbols[position].id, right: symbols[symbols[position].next].id)
      guard let merge = pairs.merges[pair] else { return }
      heap.append(Candidate(rank: merge.rank, position: position, result: merge.result))
      var child = heap.count - 1
      while child > 0 {
        let parent = (child - 1) / 2
        guard heap[child].precedes(heap[parent]) else { break }
        heap.swapAt(child, parent)
        child = parent
      }
    }
    func pop() -> Candidate {
      let top = heap[0]
      let last = heap.removeLast()
      if !heap.isEmpty {
        heap[0] = last
        var parent = 0
        while true {
          let left = 2 * parent + 1
          let right = left + 1
          var best = parent
          if left < heap.count && heap[left].precedes(heap[best]) { best = left }
          if right < heap.count && heap[right].precedes(heap[best]) { best = right }
          if best == parent { break }
          heap.swapAt(parent, best)
          parent = best
        }
      }
      return top
    }
    for position in symbols.indices { push(position) }
    while !heap.isEmpty {
      let candidate = pop()
      let position = candidate.position
      let right = symbols[position].next
      // A candidate made stale by an earlier merge no longer names a ranked pair.
      guard symbols[position].alive, right >= 0,
        pairs.merges[
          BytePairModel.MergePair(left: symbols[position].id, right: symbols[right].id)]?.result
          == candidate.result
      else { continue }
      symbols[position].id = candidate.result
      symbols[position].next = symbols[right].next
      symbols[right].alive = false
      if symbols[right].next >= 0 { symbols[symbols[right].next].previous = position }
      push(symbols[position].previous)
      push(position)
    }
    var index = symbols.isEmpty ? -1 : 0
    while index >= 0 {
      output.append(symbols[index].id)
      index = symbols[index].next
    }
  }
}
