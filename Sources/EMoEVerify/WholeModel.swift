import EMoECore
import EMoEFormats
import EMoEModel
import EMoERunner

/// A whole model the reference runners can run: a BERT-like encoder, or a LLaMA-family,
/// GPT-NeoX or OPT decoder, chosen from the model's detected family.
public enum WholeModel: Sendable {
  /// A BERT encoder (final hidden states only).
  case encoder(BertEncoder)
  /// A decoder (hidden states after the final norm, and logits).
  case decoder(any CausalDecoder)

  /// The outputs of one run.
  public struct Output: Sendable {
    /// `[tokens, hiddenSize]`: BERT's last hidden state, or a decoder's after its final norm.
    public var hiddenStates: [Float]
    /// `[tokens, vocabularySize]` for decoders, `nil` for encoders.
    public var logits: [Float]?
  }

  /// Loads `source` with the runner its family needs.
  ///
  /// - Throws: ``VerificationError`` when the family has no whole-model runner here (GPT-2,
  ///   ViT, custom patterns) or the model cannot be loaded.
  public init(source: any ModelSource) throws(VerificationError) {
    let architecture: Architecture
    do {
      architecture = try Architecture.detect(source)
    } catch {
      throw VerificationError(reading: source.path, error)
    }
    do {
      switch architecture.family.name {
      case "bert":
        self = .encoder(try BertEncoder(source: source))
      case "llama", "mistral", "qwen2", "qwen3", "gguf-llama", "gemma", "gemma2":
        self = .decoder(try LlamaDecoder(source: source))
      case "gpt-neox":
        self = .decoder(try GPTNeoXDecoder(source: source))
      case "opt":
        self = .decoder(try OPTDecoder(source: source))
      default:
        throw VerificationError(
          "whole-model runs support BERT encoders and LLaMA-family, Gemma 1/2, GPT-NeoX and "
            + "OPT decoders; "
            + "this model is "
            + architecture.family.displayName, location: ErrorLocation(file: source.path))
      }
    } catch {
      throw VerificationError(reading: source.path, error)
    }
  }

  /// The hidden size d.
  public var hiddenSize: Int {
    switch self {
    case .encoder(let model): model.configuration.hiddenSize
    case .decoder(let model): model.hiddenSize
    }
  }

  /// The vocabulary size.
  public var vocabularySize: Int {
    switch self {
    case .encoder(let model): model.configuration.vocabularySize
    case .decoder(let model): model.vocabularySize
    }
  }

  /// The longest sequence the model takes, when it has a limit (BERT's and OPT's learned
  /// positions).
  public var maximumTokens: Int? {
    switch self {
    case .encoder(let model): model.configuration.maximumPositions
    case .decoder(let model): model.maximumTokens
    }
  }

  /// Runs one sequence, with the given layers' FFNs replaced.
  public func run(
    tokens: [Int], tokenTypes: [Int]? = nil, replacing: [Int: any FeedForwardBlock] = [:]
  ) throws -> Output {
    switch self {
    case .encoder(let model):
      return Output(
        hiddenStates: try model.hiddenStates(
          tokens: tokens, tokenTypes: tokenTypes, replacing: replacing),
        logits: nil)
    case .decoder(let model):
      let output = try model.decode(tokens: tokens, replacing: replacing)
      return Output(hiddenStates: output.hiddenStates, logits: output.logits)
    }
  }

  /// The fixed token-id sequence `verify --model` runs: `(17 + 7919 · i) mod V` for
  /// `i` in `0..<count`, which visits many ids, repeats none for V ≥ count unless V shares a
  /// factor with 7919 (a prime), and needs no tokenizer.
  public static func probeTokens(count: Int, vocabularySize: Int) -> [Int] {
    (0..<count).map { (17 + 7919 * $0) % max(vocabularySize, 1) }
  }
}
