import EMoECore
import EMoENumerics

/// A model that emoe-pack cannot convert as asked.
///
/// Unknown layout, missing or inconsistent FFN tensors, bad settings: raised before any
/// clustering work starts.
public enum ModelError: Error, Sendable, Equatable, CustomStringConvertible {
  /// No registered family (nor the given `--ffn-pattern`) matches the model's tensors.
  case unknownArchitecture(file: String, reason: String, names: [TensorNameShape])
  /// A tensor the FFN needs is absent from a layer.
  case missingTensor(layer: Int, role: FFNRole, location: ErrorLocation)
  /// A tensor's shape disagrees with the layer's other FFN tensors.
  case shapeMismatch(
    layer: Int, role: FFNRole, expected: Shape, found: Shape, location: ErrorLocation)
  /// A weight that should be a non-empty matrix is not.
  case notAMatrix(layer: Int, role: FFNRole, found: Shape, location: ErrorLocation)
  /// A key matrix holds NaN or infinity.
  case nonFinite(layer: Int, row: Int, location: ErrorLocation)
  /// A tensor to be converted or copied holds NaN or infinity: the first such value, the file
  /// it was read from, and the converted layer it belongs to (`nil` for a passthrough tensor).
  case nonFiniteValue(NonFiniteValue, file: String, layer: Int?)
  /// `config.json` contradicts the tensors, or holds a value of the wrong type for a key
  /// emoe-pack reads: `location` names config.json and the key, `reason` both values.
  case inconsistentConfig(reason: String, location: ErrorLocation)
  /// A `--layers` item that selects a layer past the model's last.
  case selectionOutOfRange(item: LayerSelection.Item, layerCount: Int)
  /// The layer's neuron count is not a multiple of the expert count (and uneven sizes were not
  /// allowed).
  case expertsDoNotDivide(layer: Int, neurons: Int, experts: Int, location: ErrorLocation)
  /// The expert count is below 1 or above the layer's neuron count.
  case expertCountOutOfRange(layer: Int, neurons: Int, experts: Int, location: ErrorLocation)
  /// Top-k outside `1...experts`.
  case topKOutOfRange(topK: Int, experts: Int)
  /// A selected layer index past the model's last layer.
  case layerOutOfRange(layer: Int, layerCount: Int)
  /// The declared layer count (`config.json` or GGUF `block_count`) exceeds the layers whose
  /// FFN tensors the file holds.
  case layerCountContradicted(declared: Int, present: Int, location: ErrorLocation)
  /// `config.json` names an activation emoe-pack does not implement.
  case unknownActivation(name: String, location: ErrorLocation)
  /// A quantised tensor whose dequantisation is not available.
  case quantizedInputUnsupported(dtype: DType, location: ErrorLocation)
  /// A tensor whose element type cannot be read as floats (integers, FP8, ...).
  case unsupportedDType(dtype: DType, location: ErrorLocation)
  /// A tensor whose bytes could not be read or are fewer than its shape needs.
  case unreadableTensor(reason: String, location: ErrorLocation)
  /// A `--layers` value that does not parse.
  case invalidLayerSpec(spec: String, reason: String)
  /// An `--ffn-pattern` value that does not parse.
  case invalidPattern(spec: String, reason: String)

  /// A message for the user.
  public var description: String {
    switch self {
    case .unknownArchitecture(let file, let reason, let names):
      return Self.unknownArchitectureMessage(file: file, reason: reason, names: names)
    case .missingTensor(let layer, let role, let location):
      return "\(location): layer \(layer) has no FFN \(role) tensor"
    case .shapeMismatch(let layer, let role, let expected, let found, let location):
      return
        "\(location): layer \(layer) FFN \(role) has shape \(found), expected \(expected) to match the layer's other FFN tensors"
    case .notAMatrix(let layer, let role, let found, let location):
      return
        "\(location): layer \(layer) FFN \(role) has shape \(found), expected a non-empty matrix"
    case .nonFinite(let layer, let row, let location):
      return "\(location): layer \(layer) key matrix holds NaN or infinity in row \(row)"
    case .nonFiniteValue(let value, let file, let layer):
      let what = layer.map { "layer \($0) FFN tensor holds" } ?? "holds"
      return
        "\(value.location(file: file)): \(what) \(value); a container must not store NaN or infinity"
    case .inconsistentConfig(let reason, let location):
      return "\(location): \(reason)"
    case .selectionOutOfRange(let item, let layerCount):
      return Self.selectionMessage(item, layerCount: layerCount)
    case .expertsDoNotDivide(let layer, let neurons, let experts, let location):
      return
        "\(location): layer \(layer) has \(neurons) FFN neurons, not a multiple of \(experts) experts (choose an expert count dividing \(neurons), or allow uneven expert sizes)"
    case .expertCountOutOfRange(let layer, let neurons, let experts, let location):
      return
        "\(location): layer \(layer): \(experts) experts is outside 1...\(neurons) (its neuron count)"
    case .topKOutOfRange(let topK, let experts):
      return "top-k \(topK) is outside 1...\(experts) (the expert count)"
    case .layerOutOfRange(let layer, let layerCount):
      return
        "layer \(layer) does not exist: the model has \(layerCount) layers (0...\(layerCount - 1))"
    case .layerCountContradicted(let declared, let present, let location):
      return
        "\(location): declares \(declared) layers, but the tensors hold FFN layers only up to "
        + "\(present - 1) (\(present) layers)"
    case .unknownActivation(let name, let location):
      return
        "\(location): activation '\(name)' is not supported (known: gelu, gelu_new/gelu_pytorch_tanh, relu, silu); give act=NAME in --ffn-pattern to override"
    case .quantizedInputUnsupported(let dtype, let location):
      return "\(location): quantised type \(dtype.rawValue) has no decoder"
    case .unsupportedDType(let dtype, let location):
      return "\(location): element type \(dtype.rawValue) cannot be read as floating-point weights"
    case .unreadableTensor(let reason, let location):
      return "\(location): \(reason)"
    case .invalidLayerSpec(let spec, let reason):
      return
        "invalid layer selection '\(spec)': \(reason) (use all, 10,11, 4-7, last:2, from:16/every:2, or a comma-separated mix)"
    case .invalidPattern(let spec, let reason):
      return "invalid --ffn-pattern '\(spec)': \(reason)"
    }
  }

  private static func selectionMessage(_ item: LayerSelection.Item, layerCount: Int) -> String {
    let text = LayerSelection([item]).description
    let model = "the model has \(layerCount) layers (0...\(layerCount - 1))"
    switch item {
    case .last(let count):
      return "--layers \(text) asks for the last \(count) layers, but \(model)"
    case .range(let lower, let upper) where lower == upper:
      return "--layers \(text): layer \(upper) does not exist; \(model)"
    case .range(_, let upper):
      return "--layers \(text) reaches layer \(upper), which does not exist; \(model)"
    case .stride(let start, _):
      return "--layers \(text) starts at layer \(start), which does not exist; \(model)"
    case .all:
      return "--layers \(text) selects no layer: \(model)"
    }
  }

  private static func unknownArchitectureMessage(
    file: String, reason: String, names: [TensorNameShape]
  ) -> String {
    let shown = 60
    var lines = ["\(file): cannot find the FFN tensors: \(reason)."]
    lines.append("Tensor names found (digits between dots shown as {L}):")
    let width = min(72, names.prefix(shown).map(\.template.count).max() ?? 0)
    for entry in names.prefix(shown) {
      let padding = String(repeating: " ", count: max(1, width - entry.template.count + 2))
      lines.append("  \(entry.template)\(padding)\(entry.summary)")
    }
    if names.count > shown { lines.append("  ... and \(names.count - shown) more") }
    lines.append(
      "Map the FFN with --ffn-pattern, naming each tensor with {L} for the layer number:")
    lines.append(
      "  plain FFN (W1 [n, d], W2 [d, n]):  --ffn-pattern 'w1=<W1 name>,b1=<b1 name>,w2=<W2 name>,b2=<b2 name>'"
    )
    lines.append(
      "  GLU FFN (gate/up [n, d], down [d, n]):  --ffn-pattern 'gate=<name>,up=<name>,down=<name>'")
    lines.append(
      "  add layout=conv1d when W1 is stored [d, n] (GPT-2 Conv1D) and act=NAME to set the activation"
    )
    if let guess = TensorNameShape.suggestion(names) {
      lines.append("  a guess from the names above:  --ffn-pattern '\(guess)'")
    }
    return lines.joined(separator: "\n")
  }
}
