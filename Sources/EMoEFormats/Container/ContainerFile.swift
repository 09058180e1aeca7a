import EMoECore

/// A `.emoe` container opened for reading: the mapped file, its validated header and manifest,
/// and its tensors, as a ``ModelSource`` over the passthrough tensors plus the layer records.
///
/// Opening checks, before touching any tensor data: the magic, then the version, every header
/// field, the header checksum, the manifest against the schema's rules (unknown required
/// features are refused by name), and every tensor's offset, length and alignment (in order,
/// no overlap, no hole, inside the file). Uncompressed tensors are then used straight from the
/// mapping; compressed ones are decompressed on request into owned storage.
public final class ContainerFile: ModelSource {
  /// The path the file was opened from.
  public let path: String
  /// The mapped file.
  public let file: MappedFile
  /// The binary header.
  public let header: ContainerHeader
  /// The manifest as stored (unknown members included).
  public let manifestJSON: JSONValue
  /// The decoded, validated manifest.
  public let manifest: ContainerManifest
  /// The passthrough tensors, in file order.
  public let tensorInfos: [TensorInfo]

  private let entryIndex: [String: Int]

  /// Opens and validates the container at `path`.
  public init(path: String) throws(ContainerError) {
    self.path = path
    do throws(FileError) {
      file = try MappedFile(path: path)
    } catch {
      throw ContainerError(error)
    }
    let bytes = file.bytes
    header = try ContainerHeader.decode(bytes, file: path)
    let head = UnsafeRawBufferPointer(rebasing: bytes[0..<ContainerFormat.headerSize])
    let region = UnsafeRawBufferPointer(
      rebasing: bytes[header.manifestOffset..<(header.manifestOffset + header.manifestLength)])
    let actual = ContainerHeader.checksum(header: head, manifestRegion: region)
    guard actual == header.checksum else {
      throw ContainerError(
        .headerChecksumMismatch, ErrorLocation(file: path, offset: 48),
        "header checksum mismatch: stored \(XXH64.hex(header.checksum)), computed "
          + "\(XXH64.hex(actual)) over bytes [0, \(header.dataOffset))")
    }
    var end = region.count
    while end > 0, region[end - 1] == UInt8(ascii: " ") { end -= 1 }
    let json: JSONValue
    do throws(JSONParseError) {
      json = try JSONValue.parse(
        UnsafeRawBufferPointer(rebasing: region[0..<end]),
        maximumDepth: ContainerFormat.maximumManifestDepth,
        maximumValues: ContainerFormat.maximumManifestValues)
    } catch {
      throw ContainerError(
        .invalidManifest, ErrorLocation(file: path, offset: header.manifestOffset + error.offset),
        "invalid manifest: \(error)")
    }
    manifestJSON = json
    let manifest = try ContainerManifest.decode(json, file: path)
    try manifest.validate(file: path)
    try manifest.validatePlacement(
      dataOffset: header.dataOffset, fileSize: header.fileSize, file: path)
    self.manifest = manifest
    var index: [String: Int] = [:]
    for (position, entry) in manifest.tensors.enumerated() { index[entry.name] = position }
    entryIndex = index
    tensorInfos = manifest.passthroughNames.compactMap { name in
      index[name].map { position in
        let entry = manifest.tensors[position]
        return TensorInfo(
          name: entry.name, dtype: entry.dtype, shape: entry.shape, byteCount: entry.rawLength)
      }
    }
  }

  /// The container file itself.
  public var files: [String] { [path] }
  /// The source model's metadata, as recorded.
  public var metadata: SourceMetadata { manifest.source.metadata }
  /// The source model's `config.json`, as recorded.
  public var config: JSONValue? { manifest.source.config }
  /// The converted layers.
  public var layers: [ContainerLayerRecord] { manifest.layers }
  /// Every stored tensor's table row, in file order.
  public var entries: [ContainerTensorEntry] { manifest.tensors }

  /// The table row of the tensor named `name`, or `nil`.
  public func entry(named name: String) -> ContainerTensorEntry? {
    entryIndex[name].map { manifest.tensors[$0] }
  }

  /// The stored tensor named `name` (passthrough, layer or scales tensor): mapped when
  /// uncompressed, decompressed into owned bytes (and checked against its raw checksum) when
  /// compressed.
  public func tensor(named name: String) throws -> Tensor {
    try storedTensor(named: name)
  }

  /// ``tensor(named:)`` with its typed error.
  public func storedTensor(named name: String) throws(ContainerError) -> Tensor {
    guard let entry = entry(named: name) else {
      throw ContainerError(
        .tensorNotFound, ErrorLocation(file: path, tensor: name), "no tensor of that name is stored"
      )
    }
    return try tensor(for: entry)
  }

  /// The tensor playing `role` in `layer`, or `nil` when the layer has no such tensor.
  public func tensor(_ role: ContainerLayerRecord.Role, of layer: ContainerLayerRecord)
    throws(ContainerError) -> Tensor?
  {
    guard let name = layer.tensors[role] else { return nil }
    return try storedTensor(named: name)
  }

  /// The stored tensor of `entry`.
  public func tensor(for entry: ContainerTensorEntry) throws(ContainerError) -> Tensor {
    let storage: TensorStorage =
      entry.isCompressed
      ? .owned(try decompressedBytes(of: entry))
      : .mapped(file, offset: entry.offset, count: entry.storedLength)
    return Tensor(name: entry.name, dtype: entry.dtype, shape: entry.shape, storage: storage)
  }

  /// The bytes of `entry` as they lie in the file (the zstd frame when compressed).
  public func storedBytes(of entry: ContainerTensorEntry) -> UnsafeRawBufferPointer {
    file.bytes(offset: entry.offset, count: entry.storedLength)
  }

  /// Decompresses a compressed tensor in 1 MiB pieces and checks them against its raw
  /// checksum, without holding the whole tensor: what `verify` and `inspect --check` need.
  public func checkDecompressed(_ entry: ContainerTensorEntry) throws(ContainerError) {
    var hasher = XXH64()
    do throws(ZstdError) {
      try Zstd.decompressStreaming(storedBytes(of: entry), expectedSize: entry.rawLength) {
        hasher.update($0)
      }
    } catch {
      throw ContainerError(
        .decompressionFailed, ErrorLocation(file: path, tensor: entry.name, offset: entry.offset),
        "cannot decompress: \(error)")
    }
    let digest = hasher.finalize()
    guard digest == entry.rawChecksum else {
      throw ContainerError(
        .checksumMismatch, ErrorLocation(file: path, tensor: entry.name, offset: entry.offset),
        "decompressed bytes do not match raw_checksum (stored "
          + "\(entry.rawChecksum.map(XXH64.hex) ?? "none"), computed \(XXH64.hex(digest)))")
    }
  }

  /// Decompresses a compressed tensor and checks the result against its raw checksum.
  ///
  /// The frame's header must declare ``ContainerTensorEntry/rawLength`` bytes before a buffer of
  /// that size is allocated (the manifest check already bounded it by the frame's size), and
  /// zstd writes no byte past it, so a frame that inflates further is stopped there.
  public func decompressedBytes(of entry: ContainerTensorEntry) throws(ContainerError) -> [UInt8] {
    let stored = storedBytes(of: entry)
    do throws(ZstdError) {
      try Zstd.checkFrame(stored, declaring: entry.rawLength)
    } catch {
      throw ContainerError(
        .decompressionFailed, ErrorLocation(file: path, tensor: entry.name, offset: entry.offset),
        "cannot decompress: \(error)")
    }
    var output = [UInt8](repeating: 0, count: entry.rawLength)
    let outcome = output.withUnsafeMutableBytes { target in
      Result { () throws(ZstdError) in try Zstd.decompress(stored, into: target) }
    }
    if case .failure(let error) = outcome {
      throw ContainerError(
        .decompressionFailed, ErrorLocation(file: path, tensor: entry.name, offset: entry.offset),
        "cannot decompress: \(error)")
    }
    let digest = XXH64.hash(output)
    guard digest == entry.rawChecksum else {
      throw ContainerError(
        .checksumMismatch, ErrorLocation(file: path, tensor: entry.name, offset: entry.offset),
        "decompressed bytes do not match raw_checksum (stored "
          + "\(entry.rawChecksum.map(XXH64.hex) ?? "none"), computed \(XXH64.hex(digest)))")
    }
    return output
  }
}
