import EMoECore

extension ContainerManifest {
  /// Checks the rules that tie the manifest's parts together.
  ///
  /// Tensor names are unique, lengths fit dtype and shape, used features are declared, and
  /// layer records name stored tensors of the shapes the layout requires. Writer and reader run
  /// the same checks.
  public func validate(file: String) throws(ContainerError) {
    var index: [String: Int] = [:]
    for (position, entry) in tensors.enumerated() {
      guard index.updateValue(position, forKey: entry.name) == nil else {
        throw invalid(file, entry.name, "tensor '\(entry.name)' is listed twice")
      }
    }
    var scaleOwners: [String: String] = [:]
    // A compressed tensor's raw length is not bounded by the file, and `inspect` adds them up.
    var rawTotal = 0
    for entry in tensors {
      try validateEntry(entry, file: file)
      let (sum, overflow) = rawTotal.addingReportingOverflow(entry.rawLength)
      guard !overflow else {
        throw invalid(
          file, entry.name, "the tensors' raw lengths add up to more than 2^63 - 1 bytes")
      }
      rawTotal = sum
      if case .int8Rows(let scales) = entry.declaration.encoding {
        guard let scaleEntry = index[scales].map({ tensors[$0] }) else {
          throw invalid(file, entry.name, "its scales tensor '\(scales)' is not stored")
        }
        let rows = entry.shape.rank == 2 ? entry.shape[0] : -1
        guard scaleEntry.dtype == .f32, scaleEntry.shape == Shape([rows]),
          scaleEntry.declaration.encoding == .plain
        else {
          throw invalid(
            file, entry.name, "its scales tensor '\(scales)' must be plain F32 of shape [\(rows)]")
        }
        guard scaleOwners.updateValue(entry.name, forKey: scales) == nil else {
          throw invalid(file, entry.name, "scales tensor '\(scales)' serves two tensors")
        }
      }
    }
    let used = Set(
      tensors.flatMap { entry -> [String] in
        var features: [String] = []
        if entry.isCompressed { features.append(ContainerFormat.Feature.zstd.rawValue) }
        if case .int8Rows = entry.declaration.encoding {
          features.append(ContainerFormat.Feature.int8Rows.rawValue)
        }
        return features
      })
    for feature in used.sorted() where !requiredFeatures.contains(feature) {
      throw ContainerError(
        .invalidManifest, ErrorLocation(file: file, key: "required_features"),
        "invalid manifest: a tensor uses feature '\(feature)' but required_features does not list it"
      )
    }
    var layerIndices: Set<Int> = []
    var referenced: Set<String> = []
    for (position, layer) in layers.enumerated() {
      let path = "layers[\(position)]"
      guard layerIndices.insert(layer.layer).inserted else {
        throw invalidKey(file, path + ".layer", "layer \(layer.layer) is recorded twice")
      }
      try validateLayer(layer, path: path, file: file) { name in index[name].map { tensors[$0] } }
      for name in layer.tensors.values {
        guard referenced.insert(name).inserted else {
          throw invalidKey(file, path + ".tensors", "tensor '\(name)' plays two roles")
        }
        guard scaleOwners[name] == nil else {
          throw invalidKey(file, path + ".tensors", "tensor '\(name)' is a scales tensor")
        }
      }
    }
  }

  /// The names of the tensors that belong to no layer record and are no scales tensor: the
  /// model's other tensors, passed through.
  public var passthroughNames: [String] {
    var excluded = Set(layers.flatMap { $0.tensors.values })
    for entry in tensors {
      if case .int8Rows(let scales) = entry.declaration.encoding { excluded.insert(scales) }
    }
    return tensors.map(\.name).filter { !excluded.contains($0) }
  }

  /// Checks that the tensors' bytes lie in table order, each on a 64-byte boundary right after
  /// the previous one (no overlap, no hole), inside the data section, and that the file ends at
  /// the last tensor's padded end.
  public func validatePlacement(dataOffset: Int, fileSize: Int, file: String) throws(ContainerError)
  {
    var expected = dataOffset
    var previous: String?
    for entry in tensors {
      let location = ErrorLocation(file: file, tensor: entry.name, offset: entry.offset)
      guard entry.offset % ContainerFormat.alignment == 0 else {
        throw ContainerError(
          .misalignedTensor, location,
          "data offset \(entry.offset) is not a multiple of \(ContainerFormat.alignment)")
      }
      let (end, overflow) = entry.offset.addingReportingOverflow(entry.storedLength)
      guard !overflow, entry.offset >= dataOffset, end <= fileSize else {
        throw ContainerError(
          .tensorOutOfRange, location,
          "its bytes [\(entry.offset), \(overflow ? "overflow" : String(end))) lie outside the "
            + "data section [\(dataOffset), \(fileSize))")
      }
      guard entry.offset >= expected else {
        let other = previous.map { "tensor '\($0)'" } ?? "the manifest"
        throw ContainerError(
          .overlappingTensors, location,
          "its bytes start at \(entry.offset), inside \(other) (which ends at \(expected))")
      }
      guard entry.offset == expected else {
        throw ContainerError(
          .unexpectedGap, location,
          "its bytes start at \(entry.offset), but the previous data ends at \(expected)")
      }
      // `end <= fileSize <= Int.max`, so aligning cannot overflow past what fits.
      expected = ContainerFormat.aligned(end) ?? end
      previous = entry.name
    }
    guard fileSize == expected else {
      throw ContainerError(
        .unexpectedGap, ErrorLocation(file: file, offset: expected),
        "the file has \(fileSize - expected) bytes after the last tensor's padded end")
    }
  }

  private func validateEntry(_ entry: ContainerTensorEntry, file: String) throws(ContainerError) {
    let declaration = entry.declaration
    guard let rawLength = declaration.rawLength else {
      throw invalid(
        file, entry.name, "shape \(entry.shape) does not fill whole \(entry.dtype.rawValue) blocks")
    }
    guard entry.rawLength == rawLength else {
      throw invalid(
        file, entry.name,
        "raw_length is \(entry.rawLength), but \(entry.dtype.rawValue) "
          + "\(entry.shape) holds \(rawLength) bytes")
    }
    if entry.isCompressed {
      guard entry.rawChecksum != nil else {
        throw invalid(file, entry.name, "raw_checksum is missing")
      }
      // Checked here, before anything is allocated for the decompressed bytes.
      guard entry.rawLength <= ContainerFormat.maximumRawLength(storedLength: entry.storedLength)
      else {
        throw invalid(
          file, entry.name,
          "raw_length \(entry.rawLength) cannot come from a zstd frame of \(entry.storedLength) "
            + "bytes (at most \(ContainerFormat.maximumRawLength(storedLength: entry.storedLength)))"
        )
      }
    } else {
      guard entry.storedLength == entry.rawLength else {
        throw invalid(
          file, entry.name,
          "stored_length \(entry.storedLength) differs from raw_length "
            + "\(entry.rawLength) for an uncompressed tensor")
      }
    }
    if case .int8Rows = declaration.encoding {
      guard entry.dtype == .i8, entry.shape.rank == 2 else {
        throw invalid(file, entry.name, "int8_rows tensors must be I8 of rank 2")
      }
    }
    if let source = declaration.source {
      guard source.shape.elementCount == entry.shape.elementCount else {
        throw invalid(
          file, entry.name,
          "its source shape \(source.shape) holds a different number of "
            + "elements than its shape \(entry.shape)")
      }
    }
  }

  private typealias Role = ContainerLayerRecord.Role

  private func validateLayer(
    _ layer: ContainerLayerRecord, path: String, file: String,
    lookup: (String) -> ContainerTensorEntry?
  ) throws(ContainerError) {
    let n = layer.intermediateSize
    let d = layer.hiddenSize
    let experts = layer.expertCount
    let shared = layer.sharedCount
    guard (0..<n).contains(shared) else {
      throw invalidKey(
        file, path + ".shared", "\(shared) shared neurons are not in 0..<n = 0..<\(n)")
    }
    // The routed experts partition the n - S positions after the shared block.
    let routed = n - shared
    guard experts <= routed else {
      throw invalidKey(
        file, path + ".experts",
        shared > 0
          ? "\(experts) experts exceed the \(routed) routed neurons (n \(n) less \(shared) shared)"
          : "\(experts) experts exceed the \(n) neurons")
    }
    guard layer.expertSizes.count == experts else {
      throw invalidKey(
        file, path + ".expert_sizes",
        "lists \(layer.expertSizes.count) sizes for \(experts) experts")
    }
    // n and E come from the file: no step may overflow (n may be 2^63 - 1).
    let small = routed / experts
    let large = routed % experts == 0 ? small : small + 1
    var total = 0
    var overflow = false
    for size in layer.expertSizes where !overflow {
      (total, overflow) = total.addingReportingOverflow(size)
    }
    guard layer.expertSizes.allSatisfy({ $0 == small || $0 == large }), !overflow,
      total == routed
    else {
      throw invalidKey(
        file, path + ".expert_sizes",
        "sizes must each be \(small) or \(large) and sum to \(routed)"
          + (shared > 0 ? " (n \(n) less \(shared) shared)" : ""))
    }
    guard layer.topK <= experts else {
      throw invalidKey(file, path + ".top_k", "top_k \(layer.topK) exceeds \(experts) experts")
    }
    let keysOK =
      layer.clustering.keys == .activations
      || (layer.family == .plain
        ? layer.clustering.keys == .w1 : layer.clustering.keys != .w1)
    guard keysOK else {
      throw invalidKey(
        file, path + ".clustering.keys",
        "'\(layer.clustering.keys.rawValue)' keys do not exist in a \(layer.family.rawValue) FFN")
    }
    if layer.router.needsGLU, layer.family != .glu {
      throw invalidKey(
        file, path + ".router",
        "the '\(layer.router.rawValue)' router needs a GLU FFN's up matrix; layer \(layer.layer) "
          + "is a \(layer.family.rawValue) FFN")
    }
    for role in [Role.router, .routerBias]
    where !layer.router.storesRouterMatrix && layer.tensors[role] != nil {
      throw invalidKey(
        file, path + ".tensors." + role.rawValue,
        "the '\(layer.router.rawValue)' router computes its scores from the wu rows and stores "
          + "no '\(role.rawValue)' tensor")
    }
    for role in layer.requiredRoles where layer.tensors[role] == nil {
      throw invalidKey(file, path + ".tensors", "the required role '\(role.rawValue)' is missing")
    }
    for role in layer.tensors.keys.sorted() {
      let rolePath = path + ".tensors." + role.rawValue
      guard layer.allowedRoles.contains(role) else {
        throw invalidKey(
          file, rolePath,
          "role '\(role.rawValue)' does not belong to a \(layer.family.rawValue) FFN")
      }
      guard let name = layer.tensors[role], let entry = lookup(name) else {
        throw invalidKey(file, rolePath, "tensor '\(layer.tensors[role] ?? "")' is not stored")
      }
      let plain = entry.declaration.encoding == .plain
      let problem: String?
      switch role {
      case .permutation:
        problem =
          [.i32, .i64].contains(entry.dtype) && plain && entry.shape == Shape([n])
          ? nil : "must be plain I32 or I64 of shape [\(n)]"
      case .router:
        problem =
          entry.dtype == .f32 && plain && entry.shape == Shape([experts, d])
          ? nil : "must be plain F32 of shape [\(experts), \(d)]"
      case .routerBias:
        problem =
          entry.dtype == .f32 && plain && entry.shape == Shape([experts])
          ? nil : "must be plain F32 of shape [\(experts)]"
      case .w1, .w2, .wg, .wu, .wd:
        problem = entry.shape == Shape([n, d]) ? nil : "must have shape [\(n), \(d)]"
      case .b1, .bg, .bu:
        problem = plain && entry.shape == Shape([n]) ? nil : "must be plain of shape [\(n)]"
      case .b2, .bd:
        problem = plain && entry.shape == Shape([d]) ? nil : "must be plain of shape [\(d)]"
      }
      if let problem {
        throw invalidKey(file, rolePath, "tensor '\(name)' \(problem)")
      }
    }
  }

  private func invalid(_ file: String, _ tensor: String, _ detail: String) -> ContainerError {
    ContainerError(
      .invalidManifest, ErrorLocation(file: file, tensor: tensor), "invalid manifest: " + detail)
  }

  private func invalidKey(_ file: String, _ key: String, _ detail: String) -> ContainerError {
    ContainerError(
      .invalidManifest, ErrorLocation(file: file, key: key), "invalid manifest: " + detail)
  }
}
