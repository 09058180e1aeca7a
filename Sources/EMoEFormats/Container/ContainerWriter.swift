import EMoECore

/// Writes a `.emoe` container in one streaming pass, atomically.
///
/// The caller declares every tensor up front in a ``ContainerPlan``. The writer reserves room
/// for the header and a manifest whose not-yet-known fields (offsets, lengths, checksums,
/// clustering results) take their widest values, then streams each appended tensor to a
/// temporary file on a 64-byte boundary. ``commit()`` writes the real manifest into the reserved
/// room (padded with spaces), the header with its checksum, fsyncs and renames. Peak memory is
/// one tensor plus its compressed frame. A failed append or commit, ``abort()``, or releasing
/// the writer without committing leaves no file at the destination.
///
/// Output bytes depend only on the plan and the appended bytes: no timestamps, no thread
/// count.
public final class ContainerWriter {
  /// The destination path.
  public let path: String
  /// Where the data section starts (the header and reserved manifest come before it).
  public let dataOffset: Int

  private var plan: ContainerPlan
  private var output: AtomicFileWriter?
  private var entries: [ContainerTensorEntry] = []
  private let requiredFeatures: [String]

  /// Validates `plan`, creates the temporary file and reserves the header and manifest.
  ///
  /// - Throws: ``ContainerError`` of kind `invalidPlan` when the plan breaks a rule of the format
  ///   (Formats/EMoE.md), or `io` when the file cannot be created.
  public init(path: String, plan: ContainerPlan) throws(ContainerError) {
    self.path = path
    self.plan = plan
    requiredFeatures = plan.requiredFeatures
    try Self.check(plan, path: path)
    let reserved = Array(
      Self.placeholderManifest(plan, features: requiredFeatures).json().serialized().utf8)
    guard let dataOffset = ContainerFormat.aligned(ContainerFormat.headerSize + reserved.count)
    else {
      throw ContainerError(.invalidPlan, ErrorLocation(file: path), "the manifest is too large")
    }
    guard dataOffset - ContainerFormat.headerSize <= ContainerFormat.maximumManifestLength else {
      throw ContainerError(
        .invalidPlan, ErrorLocation(file: path),
        "the manifest would take \(reserved.count) bytes, over the 1 GiB limit")
    }
    self.dataOffset = dataOffset
    do throws(FileError) {
      let output = try AtomicFileWriter(destination: path)
      self.output = output
      try output.writeZeros(dataOffset)
    } catch {
      throw ContainerError(error)
    }
  }

  /// The name of the tensor the next append must supply, or `nil` when all are written.
  public var nextTensorName: String? {
    entries.count < plan.tensors.count ? plan.tensors[entries.count].name : nil
  }

  /// Appends the next declared tensor from its already-encoded bytes (the decompressed form:
  /// the writer compresses when the declaration asks for it).
  public func append(_ name: String, bytes: UnsafeRawBufferPointer) throws(ContainerError) {
    let declaration = try next(name)
    guard bytes.count == declaration.rawLength else {
      throw fail(
        .invalidPlan, name,
        "got \(bytes.count) bytes, but \(declaration.dtype.rawValue) \(declaration.shape) holds "
          + "\(declaration.rawLength ?? 0)")
    }
    try store(bytes, declaration)
  }

  /// Appends the next declared tensor from a ``Tensor`` (for example a mapped source tensor),
  /// whose name, dtype and shape must match the declaration.
  public func append(_ tensor: Tensor) throws(ContainerError) {
    let declaration = try next(tensor.name)
    guard tensor.dtype == declaration.dtype, tensor.shape == declaration.shape else {
      throw fail(
        .invalidPlan, tensor.name,
        "is \(tensor.dtype.rawValue) \(tensor.shape), declared \(declaration.dtype.rawValue) "
          + "\(declaration.shape)")
    }
    let outcome = tensor.withUnsafeBytes { raw in
      Result { () throws(ContainerError) in
        guard raw.count == declaration.rawLength else {
          throw fail(
            .invalidPlan, tensor.name, "holds \(raw.count) bytes, not \(declaration.rawLength ?? 0)"
          )
        }
        try store(raw, declaration)
      }
    }
    try outcome.get()
  }

  /// Appends the next declared tensor from F32 values, stored as its declared F32, F16 or BF16.
  ///
  /// Narrowing rounds to nearest even. Other encodings take bytes the caller encoded.
  public func append(_ name: String, floats: UnsafeBufferPointer<Float>) throws(ContainerError) {
    let declaration = try next(name)
    guard declaration.encoding == .plain, [.f32, .f16, .bf16].contains(declaration.dtype) else {
      throw fail(
        .invalidPlan, name,
        "F32 values can only be stored as plain F32, F16 or BF16, "
          + "not \(declaration.dtype.rawValue) (encode the bytes and append those)")
    }
    guard floats.count == declaration.shape.elementCount else {
      throw fail(.invalidPlan, name, "got \(floats.count) values for shape \(declaration.shape)")
    }
    let source = floats.baseAddress
    switch declaration.dtype {
    case .f16, .bf16:
      var narrow = [UInt16](repeating: 0, count: floats.count)
      narrow.withUnsafeMutableBufferPointer { out in
        guard let source, let target = out.baseAddress else { return }
        if declaration.dtype == .f16 {
          HalfPrecision.narrowToF16(source, into: target, count: floats.count)
        } else {
          HalfPrecision.narrowToBF16(source, into: target, count: floats.count)
        }
      }
      let outcome = narrow.withUnsafeBytes { raw in
        Result { () throws(ContainerError) in try store(raw, declaration) }
      }
      try outcome.get()
    default:
      try store(UnsafeRawBufferPointer(floats), declaration)
    }
  }

  /// Appends the next declared tensor from F32 values; see ``append(_:floats:)-(_,UnsafeBufferPointer<Float>)``.
  public func append(_ name: String, floats: [Float]) throws(ContainerError) {
    let outcome = floats.withUnsafeBufferPointer { buffer in
      Result { () throws(ContainerError) in try append(name, floats: buffer) }
    }
    try outcome.get()
  }

  /// Records what the clustering of layer `layer` (its model index) measured; `expertSizes`
  /// replaces the planned sizes when given (each must be ⌊n/E⌋ or ⌈n/E⌉, checked at commit).
  public func setClusteringResult(
    layer: Int, iterations: Int, sse: Double, expertSizes: [Int]? = nil
  ) throws(ContainerError) {
    guard let position = plan.layers.firstIndex(where: { $0.layer == layer }) else {
      throw ContainerError(.invalidPlan, ErrorLocation(file: path), "layer \(layer) is not planned")
    }
    let record = plan.layers[position]
    guard iterations >= 0, sse.isFinite, sse >= 0 else {
      throw ContainerError(
        .invalidPlan, ErrorLocation(file: path),
        "layer \(layer): iterations must be >= 0 and SSE finite and >= 0")
    }
    if let expertSizes {
      guard expertSizes.count == record.expertCount,
        expertSizes.allSatisfy({ $0 >= 1 && $0 <= record.intermediateSize })
      else {
        throw ContainerError(
          .invalidPlan, ErrorLocation(file: path),
          "layer \(layer): expert sizes must be \(record.expertCount) values in 1...\(record.intermediateSize)"
        )
      }
      plan.layers[position].expertSizes = expertSizes
    }
    plan.layers[position].clustering.iterations = iterations
    plan.layers[position].clustering.sse = sse
  }

  /// Writes the manifest and header, fsyncs and renames the file into place.
  ///
  /// - Returns: the manifest as written.
  @discardableResult
  public func commit() throws(ContainerError) -> ContainerManifest {
    guard let output else { throw finished() }
    if let missing = nextTensorName {
      throw fail(.invalidPlan, missing, "was declared but never appended")
    }
    let manifest = ContainerManifest(
      requiredFeatures: requiredFeatures, tool: plan.tool, options: plan.options,
      source: plan.source, layers: plan.layers, tensors: entries, calibration: plan.calibration)
    let json = manifest.json()
    do throws(ContainerError) {
      // Check the manifest exactly as a reader will, so no file this writer commits is refused.
      let decoded = try ContainerManifest.decode(json, file: path)
      try decoded.validate(file: path)
      try decoded.validatePlacement(dataOffset: dataOffset, fileSize: output.position, file: path)
    } catch {
      abort()
      throw ContainerError(error.kind == .io ? .io : .invalidPlan, error.location, error.detail)
    }
    var region = Array(json.serialized().utf8)
    let regionLength = dataOffset - ContainerFormat.headerSize
    guard region.count <= regionLength else {
      abort()
      throw ContainerError(
        .invalidPlan, ErrorLocation(file: path),
        "internal error: the manifest (\(region.count) bytes) outgrew its reserved \(regionLength)")
    }
    region += [UInt8](repeating: UInt8(ascii: " "), count: regionLength - region.count)
    var header = ContainerHeader(
      manifestLength: regionLength, dataOffset: dataOffset, fileSize: output.position, checksum: 0)
    header.checksum = header.encoded().withUnsafeBytes { head in
      region.withUnsafeBytes { ContainerHeader.checksum(header: head, manifestRegion: $0) }
    }
    do throws(FileError) {
      let front = header.encoded() + region
      let written = front.withUnsafeBytes { raw in
        Result { () throws(FileError) in try output.overwrite(raw, at: 0) }
      }
      try written.get()
      self.output = nil
      try output.commit()
    } catch {
      abort()
      throw ContainerError(error)
    }
    return manifest
  }

  /// Removes the temporary file; nothing appears at the destination.
  public func abort() {
    output?.abort()
    output = nil
  }

  // MARK: Internals

  private func next(_ name: String) throws(ContainerError) -> ContainerTensorDeclaration {
    guard output != nil else { throw finished() }
    guard let expected = nextTensorName else {
      throw fail(.invalidPlan, name, "every declared tensor was already appended")
    }
    guard expected == name else {
      throw fail(.invalidPlan, name, "appended out of order: the plan expects '\(expected)' next")
    }
    return plan.tensors[entries.count]
  }

  private func store(_ raw: UnsafeRawBufferPointer, _ declaration: ContainerTensorDeclaration)
    throws(ContainerError)
  {
    guard let output else { throw finished() }
    let offset = output.position
    let rawChecksum = XXH64.hash(raw)
    do {
      switch declaration.compression {
      case .none:
        try output.write(raw)
        entries.append(
          ContainerTensorEntry(
            declaration: declaration, offset: offset, storedLength: raw.count, rawLength: raw.count,
            checksum: rawChecksum, rawChecksum: nil))
      case .zstd(let level):
        let frame: [UInt8]
        do {
          frame = try Zstd.compress(raw, level: level)
        } catch {
          throw fail(.io, declaration.name, "\(error)")
        }
        try output.write(frame)
        entries.append(
          ContainerTensorEntry(
            declaration: declaration, offset: offset, storedLength: frame.count,
            rawLength: raw.count, checksum: XXH64.hash(frame), rawChecksum: rawChecksum))
      }
      try output.pad(toMultipleOf: ContainerFormat.alignment)
    } catch let error as FileError {
      abort()
      throw ContainerError(error)
    } catch let error as ContainerError {
      throw error
    } catch {
      throw fail(.io, declaration.name, "\(error)")
    }
  }

  /// An error about `tensor`; the writer is aborted, so no file is left behind.
  private func fail(_ kind: ContainerError.Kind, _ tensor: String, _ detail: String)
    -> ContainerError
  {
    abort()
    return ContainerError(kind, ErrorLocation(file: path, tensor: tensor), detail)
  }

  private func finished() -> ContainerError {
    ContainerError(
      .invalidPlan, ErrorLocation(file: path), "the writer was already committed or aborted")
  }

  /// Checks the plan as a reader would check the finished manifest, before any data is written.
  private static func check(_ plan: ContainerPlan, path: String) throws(ContainerError) {
    for declaration in plan.tensors {
      guard let rawLength = declaration.rawLength else {
        throw ContainerError(
          .invalidPlan, ErrorLocation(file: path, tensor: declaration.name),
          "shape \(declaration.shape) does not fill whole \(declaration.dtype.rawValue) blocks")
      }
      _ = rawLength
    }
    if case .gguf(let entries) = plan.source.metadata {
      for entry in entries where !SourceMetadata.isWellTyped(entry.value) {
        throw ContainerError(
          .invalidPlan, ErrorLocation(file: path, key: entry.key),
          "GGUF array elements do not all have the array's element type")
      }
    }
    let preliminary = ContainerManifest(
      requiredFeatures: plan.requiredFeatures, tool: plan.tool, options: plan.options,
      source: plan.source, layers: plan.layers,
      tensors: plan.tensors.map { declaration in
        let length = declaration.rawLength ?? 0
        return ContainerTensorEntry(
          declaration: declaration, offset: 0, storedLength: length, rawLength: length, checksum: 0,
          rawChecksum: declaration.compression == .none ? nil : 0)
      }, calibration: plan.calibration)
    do throws(ContainerError) {
      let decoded = try ContainerManifest.decode(preliminary.json(), file: path)
      try decoded.validate(file: path)
    } catch {
      throw ContainerError(.invalidPlan, error.location, error.detail)
    }
  }

  /// The manifest with every late-bound field at its widest, so the real one always fits.
  private static func placeholderManifest(_ plan: ContainerPlan, features: [String])
    -> ContainerManifest
  {
    let widest = Int(Int64.max)
    var layers = plan.layers
    for index in layers.indices {
      layers[index].clustering.iterations = Int(Int64.min)
      layers[index].clustering.sse = -2.2250738585072014e-308
      layers[index].expertSizes = Array(
        repeating: layers[index].intermediateSize, count: layers[index].expertCount)
    }
    return ContainerManifest(
      requiredFeatures: features, tool: plan.tool, options: plan.options, source: plan.source,
      layers: layers,
      tensors: plan.tensors.map { declaration in
        ContainerTensorEntry(
          declaration: declaration, offset: widest, storedLength: widest, rawLength: widest,
          checksum: UInt64.max, rawChecksum: declaration.compression == .none ? nil : UInt64.max)
      })
  }
}
