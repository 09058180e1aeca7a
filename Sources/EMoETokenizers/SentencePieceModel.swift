/// A SentencePiece BPE vocabulary as llama.cpp runs it (`tokenizer.ggml.model` = `llama`).
///
/// Spaces become U+2581 (with one added in front when the vocabulary asks for it); the text
/// starts as one symbol per character, and the adjacent pair whose concatenation is the
/// vocabulary piece of highest score (leftmost on ties) is merged until no pair is a piece.
/// A final symbol that is not a piece is written as its bytes' `<0xXX>` tokens, or the unknown
/// token when the vocabulary has no byte tokens. This equals the `sentencepiece` package's BPE
/// encoding of a model trained with the identity normaliser.
struct SentencePieceModel: Sendable {
  /// The id of each vocabulary piece (the last id wins for a repeated piece, as in llama.cpp).
  let ids: [String: Int32]
  /// Each id's score: a higher score merges first.
  let scores: [Float]
  /// The id written for each byte of a symbol that is not a piece.
  let byteIDs: [Int32]
  /// Whether a space is put before each run of text (SentencePiece's `add_dummy_prefix`).
  let addsSpacePrefix: Bool

  /// The model of `pieces` (id order) with their `scores`; `unknownID` stands for bytes that
  /// have neither a `<0xXX>` token nor a one-byte piece (such bytes are dropped without it).
  init(pieces: [String], scores: [Float], unknownID: Int32?, addsSpacePrefix: Bool) {
    var ids: [String: Int32] = [:]
    ids.reserveCapacity(pieces.count)
    for (index, piece) in pieces.enumerated() { ids[piece] = Int32(index) }
    self.ids = ids
    self.scores = scores
    let hex = Array("0123456789ABCDEF")
    self.byteIDs = (0..<256).map { byte -> Int32 in
      let name = "<0x\(hex[byte >> 4])\(hex[byte & 15])>"
      if let id = ids[name] { return id }
      if byte < 0x80, let id = ids[String(UnicodeScalar(UInt8(byte)))] { return id }
      return unknownID ?? -1
    }
    self.addsSpacePrefix = addsSpacePrefix
  }

  /// A candidate merge of two adjacent symbols.
  private struct Bigram {
    var score: Float
    var left: Int
    var right: Int
    /// The merged piece's length in bytes; a stale candidate no longer matches it.
    var size: Int

    /// Whether `self` is merged before `other`: higher score, then further left.
    func precedes(_ other: Bigram) -> Bool {
      score > other.score || (score == other.score && left < other.left)
    }
  }

  /// Appends the ids of `text` (a run of text between special tokens) to `output`.
  func encode(_ text: Substring, into output: inout [Int32]) {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(text.utf8.count + 3)
    if addsSpacePrefix { bytes += [0xE2, 0x96, 0x81] }
    for byte in text.utf8 {
      if byte == 0x20 { bytes += [0xE2, 0x96, 0x81] } else { bytes.append(byte) }
    }
    guard !bytes.isEmpty else { return }
    // One symbol per UTF-8 character: its start, byte length and neighbours (-1 at the ends).
    var start: [Int] = []
    var length: [Int] = []
    var offset = 0
    while offset < bytes.count {
      let lead = bytes[offset]
      let width = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
      let count = min(width, bytes.count - offset)
      start.append(offset)
      length.append(count)
      offset += count
    }
    let symbolCount = start.count
    var previous = (0..<symbolCount).map { $0 - 1 }
    var next = (0..<symbolCount).map { $0 + 1 < symbolCount ? $0 + 1 : -1 }

    var heap: [Bigram] = []
    func piece(_ from: Int, _ count: Int) -> String {
      String(decoding: bytes[from..<(from + count)], as: UTF8.self)
    }
    func push(_ left: Int, _ right: Int) {
      guard left >= 0, right >= 0 else { return }
      let size = length[left] + length[right]
      guard let id = ids[piece(start[left], size)], Int(id) < scores.count else { return }
      heap.append(Bigram(score: scores[Int(id)], left: left, right: right, size: size))
      var child = heap.count - 1
      while child > 0 {
        let parent = (child - 1) / 2
        guard heap[child].precedes(heap[parent]) else { break }
        heap.swapAt(child, parent)
        child = parent
      }
    }
    func pop() -> Bigram {
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

    for index in 1..<max(symbolCount, 1) { push(index - 1, index) }
    while !heap.isEmpty {
      let bigram = pop()
      let left = bigram.left
      let right = bigram.right
      // A candidate made stale by an earlier merge of either symbol no longer adds up.
      if length[left] == 0 || length[right] == 0 || length[left] + length[right] != bigram.size {
        continue
      }
      length[left] += length[right]
      length[right] = 0
      next[left] = next[right]
      if next[right] >= 0 { previous[next[right]] = left }
      push(previous[left], left)
      push(left, next[left])
    }

    var index = 0
    while index >= 0 {
      if let id = ids[piece(start[index], length[index])] {
        output.append(id)
      } else {
        for byte in bytes[start[index]..<(start[index] + length[index])] {
          let id = byteIDs[Int(byte)]
          if id >= 0 { output.append(id) }
        }
      }
      index = next[index]
    }
  }
}
