import EMoECore
import Testing

@Suite("XXH64")
struct XXH64Tests {
  /// xxHash's own sanity buffer (cli/xsum_sanity_check.c): byte i is the top byte of a
  /// generator multiplied by PRIME64 after each byte, starting from PRIME32.
  static func sanityBuffer(_ count: Int) -> [UInt8] {
    var generator: UInt64 = 2_654_435_761
    return (0..<count).map { _ in
      let byte = UInt8(truncatingIfNeeded: generator >> 56)
      generator = generator &* 11_400_714_785_074_694_797
      return byte
    }
  }

  @Test("matches the published XXH64 sanity vectors (length, seed, digest)")
  func publishedVectors() {
    let prime32: UInt64 = 2_654_435_761
    let vectors: [(Int, UInt64, UInt64)] = [
      (0, 0, 0xEF46_DB37_51D8_E999), (0, prime32, 0xAC75_FDA2_929B_17EF),
      (1, 0, 0xE934_A84A_DB05_2768), (1, prime32, 0x5014_6076_43A9_B4C3),
      (4, 0, 0x9136_A0DC_A574_57EE), (14, 0, 0x8282_DCC4_994E_35C8),
      (14, prime32, 0xC3BD_6BF6_3DEB_6DF0), (222, 0, 0xB641_AE8C_B691_C174),
      (222, prime32, 0x20CB_8AB7_AE10_C14A),
    ]
    let buffer = Self.sanityBuffer(222)
    for (length, seed, expected) in vectors {
      let digest = Array(buffer[0..<length]).withUnsafeBytes { XXH64.hash($0, seed: seed) }
      #expect(digest == expected, "length \(length) seed \(seed)")
    }
  }

  @Test("matches published digests of short strings")
  func strings() {
    #expect(XXH64.hash(Array("a".utf8)) == 0xD24E_C4F1_A98C_6E5B)
    #expect(XXH64.hash(Array("abc".utf8)) == 0x44BC_2CF5_AD77_0999)
    #expect(
      XXH64.hash(Array("Nobody inspects the spammish repetition".utf8)) == 0xFBCE_A83C_8A37_8BF1)
    #expect(XXH64.hex(0xEF46_DB37_51D8_E999) == "ef46db3751d8e999")
    #expect(XXH64.hex(0x1) == "0000000000000001")
  }

  @Test("gives the same digest whatever the split into updates")
  func streaming() {
    let buffer = Self.sanityBuffer(1000)
    let whole = XXH64.hash(buffer)
    for split in [1, 3, 7, 8, 31, 32, 33, 64, 100, 999] {
      var hasher = XXH64()
      var offset = 0
      while offset < buffer.count {
        let end = min(buffer.count, offset + split)
        hasher.update(Array(buffer[offset..<end]))
        offset = end
      }
      #expect(hasher.finalize() == whole, "chunks of \(split)")
    }
  }
}
