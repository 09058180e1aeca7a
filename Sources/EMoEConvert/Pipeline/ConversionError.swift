import EMoECore
import EMoEFormats
import EMoEModel

/// Why a conversion or an export could not be done: a model or options that do not fit, an
/// input file that cannot be read, or a failure of the file system.
///
/// Every case names where the problem is (file, layer, tensor), so a message reads on its own:
/// `model.safetensors: tensor 'encoder.layer.4.intermediate.dense.weight': layer 4 has 1536 FFN
/// neurons, not a multiple of 10 experts ...`.
public enum ConversionError: Error, Sendable, CustomStringConvertible {
  /// The model does not fit the conversion (unknown layout, missing or inconsistent tensors,
  /// expert count, top-k, NaN keys, ...).
  case model(ModelError)
  /// The options contradict each other or the model (for example `--cluster-on up` on a plain
  /// FFN, or `--quantize q8_0` with a row length that is not a multiple of 32).
  case invalidOptions(String)
  /// An input file is malformed or of the wrong kind; the message names the file.
  case invalidInput(String)
  /// The balanced k-means refused a layer's keys.
  case clustering(layer: Int, error: ClusteringError, location: ErrorLocation)
  /// A container could not be read or written.
  case container(ContainerError)
  /// The operating system failed to read, write or rename a file.
  case io(FileError)
  /// An output file could not be written (a format writer refused or failed).
  case output(String)

  /// Whether this is a failure of the machine (exit 1) rather than of the input (exit 2).
  public var isIOFailure: Bool {
    switch self {
    case .io(let error): error.refusal == nil && !error.isWrongKind
    case .output: true
    case .container(let error): error.kind == .io
    default: false
    }
  }

  /// Whether a tensor holds NaN or infinity (exit 8) rather than being otherwise unfit.
  public var isNonFinite: Bool {
    switch self {
    case .model(.nonFinite), .model(.nonFiniteValue): true
    case .clustering(_, .nonFinite, _): true
    default: false
    }
  }

  /// A message for the user.
  public var description: String {
    switch self {
    case .model(let error): "\(error)"
    case .invalidOptions(let reason): reason
    case .invalidInput(let reason): reason
    case .clustering(let layer, let error, let location): "\(location): layer \(layer): \(error)"
    case .container(let error): "\(error)"
    case .io(let error): "\(error)"
    case .output(let reason): reason
    }
  }

  /// Wraps an error thrown while reading an input, keeping typed errors recognisable.
  static func reading(_ error: any Error) -> ConversionError {
    switch error {
    case let error as ConversionError: error
    case let error as FileError: .io(error)
    case let error as ContainerError: .container(error)
    case let error as ModelError: .model(error)
    default: .invalidInput("\(error)")
    }
  }

  /// Wraps an error thrown while exporting the container at `container`: a format writer that
  /// refuses what it is given (a tensor name, a metadata key, a size) refuses the container's
  /// content, so the container is named and the error is the input's (exit 2); a failure of
  /// the file system stays the output's (exit 1).
  static func exporting(_ error: any Error, container: String) -> ConversionError {
    switch error {
    case let error as SafeTensorsError:
      .invalidInput("\(container): cannot be exported as safetensors: \(error)")
    case let error as GGUFError:
      .invalidInput("\(container): cannot be exported as GGUF: \(error)")
    default: writing(error)
    }
  }

  /// Wraps an error thrown while writing an output.
  static func writing(_ error: any Error) -> ConversionError {
    switch error {
    case let error as ConversionError: error
    case let error as FileError: .io(error)
    case let error as ContainerError: .container(error)
    default: .output("\(error)")
    }
  }
}
