import EMoECore
import EMoEFormats

/// What a conversion did: per-layer clustering results, totals, the output and its SHA-256.
///
/// It also lists the tensors whose values changed. `convert --json` prints ``json``.
public struct ConversionSummary: Sendable {
  /// One converted layer.
  public struct Layer: Sendable, Equatable {
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
    /// The matrix whose rows were clustered: `w1`, `gate` or `up`.
    public var keys: String
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

  /// The summary as one JSON document.
  public var json: JSONValue {
    .object([
      JSONMember("output", .string(output)),
      JSONMember("sha256", sha256.map { .string($0) } ?? .null),
      JSONMember("input", .string(input)),
      JSONMember("architecture", .string(architecture)),
      JSONMember("options", options),
      JSONMember(
        "layers",
        .array(
          layers.map { layer in
            .object([
              JSONMember("layer", .integer(Int64(layer.layer))),
              JSONMember("experts", .integer(Int64(layer.experts))),
              JSONMember("expert_sizes", .array(layer.expertSizes.map { .integer(Int64($0)) })),
              JSONMember("top_k", .integer(Int64(layer.topK))),
              JSONMember("n", .integer(Int64(layer.n))),
              JSONMember("d", .integer(Int64(layer.d))),
              JSONMember("sse", .number(layer.sse)),
              JSONMember("iterations", .integer(Int64(layer.iterations))),
              JSONMember("restarts", .integer(Int64(layer.restarts))),
              JSONMember("seconds", .number(layer.seconds)),
              JSONMember("keys", .string(layer.keys)),
            ])
          })),
      JSONMember(
        "changed_tensors",
        .array(
          changedTensors.map { tensor in
            .object([
              JSONMember("name", .string(tensor.name)),
              JSONMember("source", .string(tensor.source)),
              JSONMember("values", .string(tensor.values.rawValue)),
            ])
          })),
      JSONMember(
        "lossy", .array(changedTensors.filter { $0.values == .lossy }.map { .string($0.source) })),
      JSONMember(
        "totals",
        .object([
          JSONMember("seconds", .number(seconds)),
          JSONMember("peak_rss_bytes", .integer(Int64(peakResidentBytes))),
          JSONMember("bytes_in", .integer(Int64(bytesIn))),
          JSONMember("bytes_out", .integer(Int64(bytesOut))),
        ])),
    ])
  }
}
