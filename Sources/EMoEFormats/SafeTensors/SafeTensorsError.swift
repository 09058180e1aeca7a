import EMoECore

/// A safetensors file, sharded checkpoint or write request that breaks the format's rules.
///
/// The kinds mirror the Rust reference's `SafeTensorError` variants (their raw values are the
/// reference's names), plus the checks emoe-pack makes beyond it (duplicate keys, checkpoint
/// index consistency). Every error says where: the file, the tensor when known, and a byte
/// offset in the file.
public struct SafeTensorsError: Error, Sendable, Equatable, CustomStringConvertible {
  /// What rule was broken.
  public enum Kind: String, Sendable, CaseIterable {
    /// The file is shorter than the 8-byte header length.
    case headerTooSmall = "HeaderTooSmall"
    /// The declared header length is above 100,000,000 bytes.
    case headerTooLarge = "HeaderTooLarge"
    /// The header declares more tensors than emoe-pack's limit
    /// (``SafeTensorsHeader/maximumTensorCount``); emoe-pack's own rule, not the reference's.
    case tooManyTensors = "TooManyTensors"
    /// The header runs past the end of the file.
    case invalidHeaderLength = "InvalidHeaderLength"
    /// The header is not valid UTF-8.
    case invalidHeader = "InvalidHeader"
    /// The header is not JSON, or its JSON has the wrong shape or types.
    case invalidHeaderDeserialization = "InvalidHeaderDeserialization"
    /// A JSON object repeats a key (the reference keeps the last one silently).
    case duplicateKey = "DuplicateKey"
    /// Tensor data overlaps, leaves a hole, or does not start at the data section's start.
    case invalidOffset = "InvalidOffset"
    /// A tensor's element count or bit size overflows.
    case validationOverflow = "ValidationOverflow"
    /// A sub-byte dtype whose elements do not fill whole bytes.
    case misalignedSlice = "MisalignedSlice"
    /// A tensor's byte range does not match its shape and dtype.
    case tensorInvalidInfo = "TensorInvalidInfo"
    /// The data section does not end exactly at the end of the file.
    case metadataIncompleteBuffer = "MetadataIncompleteBuffer"
    /// No tensor has the requested name.
    case tensorNotFound = "TensorNotFound"
    /// Bytes given to the writer do not match the tensor's dtype and shape.
    case invalidTensorView = "InvalidTensorView"
    /// The writer was given a dtype safetensors cannot store (a ggml block type).
    case unsupportedDType = "UnsupportedDType"
    /// The writer was given a name twice, or the reserved name `__metadata__`.
    case invalidTensorName = "InvalidTensorName"
    /// The writer was used out of order (data past the end, commit before all data).
    case invalidWriteOrder = "InvalidWriteOrder"
    /// A `model.safetensors.index.json` that is not valid JSON or has the wrong shape.
    case invalidIndex = "InvalidIndex"
    /// The index and its shards disagree about which tensor lives where.
    case weightMapMismatch = "WeightMapMismatch"
    /// A `config.json` beside the model that is not valid JSON.
    case invalidConfig = "InvalidConfig"
  }

  /// What rule was broken.
  public var kind: Kind
  /// Where: file, tensor or key, byte offset in the file.
  public var location: ErrorLocation
  /// The specifics: the values found and what was expected.
  public var detail: String?

  /// Creates an error.
  public init(_ kind: Kind, _ location: ErrorLocation, detail: String? = nil) {
    self.kind = kind
    self.location = location
    self.detail = detail
  }

  /// The reference implementation's wording for the kind, so users recognise it.
  public var summary: String {
    switch kind {
    case .headerTooSmall: "header too small"
    case .headerTooLarge: "header too large"
    case .tooManyTensors: "too many tensors in header"
    case .invalidHeaderLength: "invalid header length"
    case .invalidHeader: "invalid UTF-8 in header"
    case .invalidHeaderDeserialization: "invalid JSON in header"
    case .duplicateKey: "duplicate key in header"
    case .invalidOffset: "invalid offset for tensor `\(location.tensor ?? "")`"
    case .validationOverflow: "overflow computing buffer size from shape and/or element type"
    case .misalignedSlice: "sub-byte tensor does not end at a byte boundary"
    case .tensorInvalidInfo: "invalid shape, data type, or offset for tensor"
    case .metadataIncompleteBuffer: "incomplete metadata, file not fully covered"
    case .tensorNotFound: "tensor `\(location.tensor ?? "")` not found"
    case .invalidTensorView: "tensor bytes do not match its dtype and shape"
    case .unsupportedDType: "dtype not supported by safetensors"
    case .invalidTensorName: "invalid tensor name"
    case .invalidWriteOrder: "tensor data written out of order"
    case .invalidIndex: "invalid checkpoint index"
    case .weightMapMismatch: "Mismatch between weight map and model parts"
    case .invalidConfig: "invalid config.json"
    }
  }

  /// `file: tensor 'name' (byte N): summary: detail`.
  public var description: String {
    var text = "\(location): \(summary)"
    if let detail { text += ": " + detail }
    return text
  }
}
