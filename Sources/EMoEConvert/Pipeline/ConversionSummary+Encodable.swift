import EMoECore

extension ConversionSummary: Encodable {
  enum CodingKeys: String, CodingKey {
    case output, sha256, input, architecture, options, layers
    case changedTensors = "changed_tensors"
    case lossy, totals
  }

  enum TotalsKeys: String, CodingKey {
    case seconds
    case peakResidentBytes = "peak_rss_bytes"
    case bytesIn = "bytes_in"
    case bytesOut = "bytes_out"
  }

  /// The summary as one JSON document.
  public var json: JSONValue {
    // Encoding into a JSONValue cannot fail (no member throws, nor does the encoder).
    (try? JSONValueEncoder().encode(self)) ?? .object([])
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(output, forKey: .output)
    try container.encode(sha256, forKey: .sha256)
    try container.encode(input, forKey: .input)
    try container.encode(architecture, forKey: .architecture)
    try container.encode(options, forKey: .options)
    try container.encode(layers, forKey: .layers)
    try container.encode(changedTensors, forKey: .changedTensors)
    try container.encode(
      changedTensors.filter { $0.values == .lossy }.map(\.source), forKey: .lossy)
    var totals = container.nestedContainer(keyedBy: TotalsKeys.self, forKey: .totals)
    try totals.encode(seconds, forKey: .seconds)
    try totals.encode(peakResidentBytes, forKey: .peakResidentBytes)
    try totals.encode(bytesIn, forKey: .bytesIn)
    try totals.encode(bytesOut, forKey: .bytesOut)
  }
}

extension ConversionSummary.Layer {
  enum CodingKeys: String, CodingKey {
    case layer, experts
    case expertSizes = "expert_sizes"
    case topK = "top_k"
    case n, d, sse, iterations, restarts, seconds, keys, shared
  }
}

extension ConversionSummary.ChangedTensor: Encodable {
  enum CodingKeys: String, CodingKey {
    case name, source, values
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(name, forKey: .name)
    try container.encode(source, forKey: .source)
    try container.encode(values.rawValue, forKey: .values)
  }
}
