import Foundation

extension Tokenizer {
  /// `text` in Unicode Normalization Form C, as the `tokenizers` package's `NFC` normaliser
  /// gives it (Qwen2's tokenizers).
  static func nfc(_ text: String) -> String {
    text.utf8.allSatisfy { $0 < 0x80 } ? text : text.precomposedStringWithCanonicalMapping
  }
}
