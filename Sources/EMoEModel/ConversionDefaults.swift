/// The expert count, top-k and layers the EMoE paper used for a model of this kind (EMOE.md §6).
///
/// "Sized" is decided by family, not by parameter count: BERT, RoBERTa, ViT and GPT-2 (plain
/// FFNs, the paper's 12-layer models) are ``ModelScale/encoder``: E = 16, top-k = 4, the last
/// two layers. LLaMA, Mistral, Qwen2/3 and GGUF llama-family models (GLU FFNs) are
/// ``ModelScale/decoder``: E = 64, top-k = E/4, every second layer of the upper half
/// (`from:L/2/every:2`, i.e. 16, 18, ..., 30 for 32 layers). A user `--ffn-pattern` counts as
/// decoder-sized when it is GLU.
///
/// E must divide n: when the paper's E does not, it is halved until it does (so 16 → 8 → 4 → 2
/// for small models, 64 → 32 → 16 ... for large ones), never going below 2 or above n / 2. When
/// no such E exists (n odd), the paper's E is kept and ``unevenRequired`` is set. Top-k stays
/// E/4 (at least 1).
public struct ConversionDefaults: Sendable, Hashable {
  /// The number of experts per layer.
  public var experts: Int
  /// Experts selected per token.
  public var topK: Int
  /// The layers to convert.
  public var layers: LayerSelection
  /// Whether n is not divisible by ``experts`` so uneven expert sizes are needed.
  public var unevenRequired: Bool

  /// Creates defaults.
  public init(experts: Int, topK: Int, layers: LayerSelection, unevenRequired: Bool = false) {
    self.experts = experts
    self.topK = topK
    self.layers = layers
    self.unevenRequired = unevenRequired
  }

  /// The paper's settings for `architecture`.
  public static func paper(for architecture: Architecture) -> ConversionDefaults {
    let scale = architecture.family.scale
    let preferred = scale == .encoder ? 16 : 64
    let (experts, uneven) = expertCount(
      preferred: preferred, neurons: architecture.intermediateSize)
    let layerCount = architecture.layerCount
    let layers: LayerSelection
    switch scale {
    case .encoder:
      layers = layerCount >= 2 ? LayerSelection([.last(2)]) : .all
    case .decoder:
      layers =
        layerCount >= 2 ? LayerSelection([.stride(from: layerCount / 2, every: 2)]) : .all
    }
    return ConversionDefaults(
      experts: experts, topK: max(1, experts / 4), layers: layers, unevenRequired: uneven)
  }

  /// The expert count to use for a layer of `neurons` neurons.
  ///
  /// The largest of `preferred`, `preferred / 2`, ... (at least 2, at most `neurons / 2`) that
  /// divides `neurons`; `preferred` with `uneven` set when none does.
  public static func expertCount(preferred: Int, neurons: Int) -> (experts: Int, uneven: Bool) {
    var candidate = preferred
    while candidate >= 2 {
      if candidate <= neurons / 2 && neurons % candidate == 0 { return (candidate, false) }
      candidate /= 2
    }
    return (min(preferred, max(1, neurons)), neurons % max(1, min(preferred, neurons)) != 0)
  }
}
