/// A byte-level BPE model: a vocabulary and ranked merges over GPT-2's byte alphabet.
///
/// A word's bytes start as one symbol each; the adjacent pair with the lowest merge rank
/// (leftmost on ties) is merged until no ranked pair remains, which is what the `tokenizers`
/// package and llama.cpp compute.
struct BytePairModel: Sendable {
  /// The id of each vocabulary string.
  let ids: [String: Int32]
  /// The rank and result of each mergeable pair of ids.
  let merges: [MergePair: Merge]
  /// The id of each byte's one-character symbol, or -1 when the vocabulary lacks it.
  let byteIDs: [Int32]
  /// Whether a word found whole in the vocabulary skips the merges (LLaMA 3).
  let ignoresMerges: Bool

  /// Two adjacent symbols.
  struct MergePair: Hashable, Sendable {
    var left: Int32
    var right: Int32
  }

  /// A merge's priority (lower first) and the id it produces.
  struct Merge: Sendable {
    var rank: Int32
    var result: Int32
  }

  /// A model from its parts.
  init(ids: [String: Int32], merges: [MergePair: Merge], byteIDs: [Int32], ignoresMerges: Bool) {
    self.ids = ids
    self.merges = merges
    self.byteIDs = byteIDs
    self.ignoresMerges = ignoresMerges
  }

  /// Builds the model from `vocabulary` (id order) and `merges` (rank order, "left right").
  ///
  /// - Throws: a message and the index of the first merge whose halves or result are not in
  ///   the vocabulary.
  init(vocabulary: [String], merges mergeList: [(String, String)], ignoresMerges: Bool)
    throws(MergeProblem)
  {
    var ids: [String: Int32] = [:]
    ids.reserveCapacity(vocabulary.count)
    for (index, token) in vocabulary.enumerated() where ids[token] == nil {
      ids[token] = Int32(index)
    }
    var merges: [MergePair: Merge] = [:]
    merges.reserveCapacity(mergeList.count)
    for (rank, (left, right)) in mergeList.enumerated() {
      guard let leftID = ids[left], let rightID = ids[right], let result = ids[left + right]
      else {
        throw MergeProblem(
          index: rank, reason: "merge '\(left) \(right)' names a token not in the vocabulary")
      }
      let pair = MergePair(left: leftID, right: rightID)
      if merges[pair] == nil { merges[pair] = Merge(rank: Int32(rank), result: result) }
    }
    self.ids = ids
    self.merges = merges
    self.byteIDs = ByteLevelAlphabet.characters.map { ids[String($0)] ?? -1 }
    self.ignoresMerges = ignoresMerges
  }

  /// A merge list entry that the vocabulary cannot satisfy.
  struct MergeProblem: Error {
    var index: Int
    var reason: String
  }

  /// Appends the ids of `word` (UTF-8 bytes) to `output`.
  func encode(_ word: ArraySlice<UInt8>, into output: inout [Int32]) {
    if ignoresMerges {
      let text = String(ByteLevelAlphabet.string(word))
      if let id = ids[text] {
        output.append(id)
        return
      }
    }
    // Bytes missing from the vocabulary are dropped, as the `tokenizers` package does without
    // an unknown token.
    var symbols = word.compactMap { byte -> Int32? in
      let id = byteIDs[Int(byte)]
      return id >= 0 ? id : nil
    }
    while symbols.count > 1 {
      var best = Int32.max
      var bestIndex = -1
      var bestResult: Int32 = 0
      for index in 0..<(symbols.count - 1) {
        if let merge = merges[MergePair(left: symbols[index], right: symbols[index + 1])],
          merge.rank < best
        {
          best = merge.rank
          bestIndex = index
          bestResult = merge.result
        }
      }
      if bestIndex < 0 { break }
      symbols[bestIndex] = bestResult
      symbols.remove(at: bestIndex + 1)
    }
    output.append(contentsOf: symbols)
  }
}

extension ByteLevelAlphabet {
  /// `bytes` written in the byte-level alphabet.
  static func string(_ bytes: ArraySlice<UInt8>) -> String {
    var text = String()
    text.unicodeScalars.reserveCapacity(bytes.count)
    for byte in bytes { text.append(characters[Int(byte)]) }
    return text
  }
}
