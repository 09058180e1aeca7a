import EMoECore
import EMoEFormats

/// What a conversion did: per-layer clustering results, totals, the output and its SHA-256.
///
/// It also lists the tensors whose values changed. `convert --json` prints ``json``, its
/// `Encodable` form.
public struct ConversionSummary: Sendable {
  /// One converted layer.
  public struct Layer: Sendable, Equatable, Encodable {
    /// The layer's model index.
    public var layer: Int
    /// E.
    public var experts: Int
    /// Neurons per expert, in stored order.
    public var expertSizes: [Int]
    /// The default top-k.
    public var topK: Int
    /// The layer's neuron count.
    public var n: Int
    /// The hidden size.
    public var d: Int
    /// The clustering objective (SSE of the normalised keys to their expert means).
    public var sse: Double
    /// Lloyd iterations of the kept restart.
    public var iterations: Int
    /// Restarts run.
    public var restarts: Int
    /// Wall-clock seconds for the whole layer (keys, clustering, permuting, writing).
    public var seconds: Double
    /// The matrix whose rows were clustered: `w1`, `gate` or `up` (`activations` for a layer
    /// grouped by calibration).
    public var keys: String
    /// The always-active shared neurons stored before the experts (0 without a shared block).
    public var shared: Int = 0
  }

  /// A stored tensor whose values differ from its source tensor's.
  public struct ChangedTensor: Sendable, Equatable {
    /// The container tensor.
    public var name: String
    /// The source tensor.
    public var source: String
    /// `lossless` (another dtype, same values) or `lossy` (values changed).
    public var values: ContainerTensorSource.ValueChange
  }

  /// The container written.
  public var output: String
  /// Its SHA-256, 64 lowercase hex digits, when a caller asked for it (the converter leaves it
  /// `nil`; `convert --json` fills it in).
  public var sha256: String?
  /// The input as given.
  public var input: String
  /// The architecture, as one line.
  public var architecture: String
  /// The options as recorded in the container.
  public var options: JSONValue
  /// The converted layers, by model index.
  public var layers: [Layer]
  /// Tensors whose values changed.
  public var changedTensors: [ChangedTensor]
  /// Wall-clock seconds of the whole conversion.
  public var seconds: Double
  /// The process's peak resident memory (getrusage), bytes.
  public var peakResidentBytes: Int
  /// The source files' bytes.
  public var bytesIn: Int
  /// The container's bytes.
  public var bytesOut: Int
}
