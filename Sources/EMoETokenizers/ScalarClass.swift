/// The Unicode classes the pre-tokenizers' patterns use: `\p{L}`, `\p{N}` and `\s`.
///
/// Written out instead of using `Regex` because the patterns need exact Oniguruma semantics
/// (what the Hugging Face `tokenizers` package and llama.cpp use) and run over every byte of
/// an evaluation text.
enum ScalarClass {
  /// `\p{L}`: any letter category (Lu, Ll, Lt, Lm, Lo).
  @inline(__always)
  static func isLetter(_ scalar: Unicode.Scalar) -> Bool {
    if scalar.value < 0x80 {
      return (scalar.value | 0x20) >= 0x61 && (scalar.value | 0x20) <= 0x7A
    }
    switch scalar.properties.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
      return true
    default:
      return false
    }
  }

  /// `\p{N}`: any number category (Nd, Nl, No).
  @inline(__always)
  static func isNumber(_ scalar: Unicode.Scalar) -> Bool {
    if scalar.value < 0x80 { return scalar.value >= 0x30 && scalar.value <= 0x39 }
    switch scalar.properties.generalCategory {
    case .decimalNumber, .letterNumber, .otherNumber: return true
    default: return false
    }
  }

  /// `\s`: the Unicode White_Space property.
  @inline(__always)
  static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
    if scalar.value < 0x80 {
      return scalar.value == 0x20 || (scalar.value >= 0x09 && scalar.value <= 0x0D)
    }
    return scalar.properties.isWhitespace
  }

  /// `[^\s\p{L}\p{N}]`: neither whitespace, a letter nor a number.
  @inline(__always)
  static func isOther(_ scalar: Unicode.Scalar) -> Bool {
    !isWhitespace(scalar) && !isLetter(scalar) && !isNumber(scalar)
  }

  /// `[\r\n]`.
  @inline(__always)
  static func isNewline(_ scalar: Unicode.Scalar) -> Bool {
    scalar.value == 0x0A || scalar.value == 0x0D
  }
}
