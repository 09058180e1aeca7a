/// Where a running conversion is, reported to a progress callback.
public struct ConversionProgress: Sendable {
  /// What the converter is doing.
  public enum Phase: String, Sendable, CaseIterable {
    /// Hashing the source files (SHA-256 for the provenance record).
    case hashing = "hashing input"
    /// Copying tensors that conversion does not touch.
    case copying
    /// Reading (and dequantising) a layer's keys.
    case readingKeys = "reading keys"
    /// Running balanced k-means on a layer's keys.
    case clustering
    /// Permuting a layer's FFN matrices into expert order.
    case permuting
    /// Writing a layer's tensors.
    case writing
    /// Writing the manifest, syncing and hashing the output.
    case finishing
  }

  /// The current phase.
  public var phase: Phase
  /// Converted layers finished so far.
  public var layersDone: Int
  /// Converted layers in all.
  public var layerCount: Int
  /// The model index of the layer being worked on, when the phase concerns one.
  public var layer: Int?
  /// Seconds since the conversion started.
  public var elapsed: Double
  /// An estimate of the fraction of the work done, in `0...1`.
  public var fraction: Double
  /// Bytes done so far: of the source files while hashing, else of the source tensors copied or
  /// converted.
  public var bytesDone = 0
  /// Bytes in all: the source files' sizes while hashing, else the source tensors' sizes.
  public var bytesTotal = 0
  /// Bytes per second of the current count, once there is a measure.
  public var bytesPerSecond: Double?

  /// Creates a progress report; the byte counts start at zero.
  public init(
    phase: Phase, layersDone: Int, layerCount: Int, layer: Int? = nil, elapsed: Double,
    fraction: Double, bytesDone: Int = 0, bytesTotal: Int = 0, bytesPerSecond: Double? = nil
  ) {
    self.phase = phase
    self.layersDone = layersDone
    self.layerCount = layerCount
    self.layer = layer
    self.elapsed = elapsed
    self.fraction = fraction
    self.bytesDone = bytesDone
    self.bytesTotal = bytesTotal
    self.bytesPerSecond = bytesPerSecond
  }

  /// Estimated seconds left, once enough is done to extrapolate.
  public var remaining: Double? {
    guard fraction > 0.02, fraction < 1 else { return nil }
    return elapsed * (1 - fraction) / fraction
  }
}
