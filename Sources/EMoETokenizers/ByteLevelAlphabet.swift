/// GPT-2's map from bytes to printable characters, in which byte-level BPE vocabularies are
/// written (`Ġ` for a space, `Ċ` for a newline).
enum ByteLevelAlphabet {
  /// The character standing for each byte value.
  static let characters: [Character] = {
    var printable = Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
    var mapped = [UInt32](repeating: 0, count: 256)
    for byte in printable { mapped[byte] = UInt32(byte) }
    var next: UInt32 = 256
    for byte in 0..<256 where !printable.contains(byte) {
      mapped[byte] = next
      next += 1
      printable.append(byte)
    }
    return mapped.map { Character(Unicode.Scalar($0)!) }
  }()
}
