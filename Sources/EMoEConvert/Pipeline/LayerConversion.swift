import EMoECore
import EMoEFormats
import EMoEModel
import EMoENumerics

/// Converts one planned layer: reads its keys, clusters them (or takes the layer's grouping),
/// computes the router, and appends the layer's tensors to the container in plan order, one
/// matrix at a time.
///
/// Unquantised values move as raw bytes (``NeuronMajorLayout``), so F32, F16, BF16 and whole
/// quantised rows are stored bit for bit. Peak memory is the keys and their normalised copy
/// during clustering, then one source matrix (mapped) and its permuted copy.
struct LayerConversion {
  let layer: ConversionPlan.Layer
  let options: ConversionOptions
  /// The routed experts of this layer (the plan's E, or its grouping's).
  var experts: Int { layer.record.expertCount }

  /// Runs the conversion; `phase` is told each phase as it starts.
  func run(into writer: ContainerWriter, phase: (ConversionProgress.Phase) -> Void)
    throws(ConversionError) -> ConversionSummary.Layer
  {
    let started = ContinuousClock.now
    let ffn = layer.ffn
    let n = ffn.intermediateSize
    let d = ffn.hiddenSize
    let keyRole = ffn.keyRole(layer.keyChoice)
    let keyLocation = ErrorLocation(file: ffn.source.path, tensor: ffn.member(keyRole)?.info.name)

    phase(.readingKeys)
    // Every stored value must be finite; the keys were scanned when planning, the values and
    // biases are scanned here, before anything of the layer is written.
    for member in ffn.members where member.role != keyRole {
      let tensor = try source(member.role)
      defer { KeyReader.release(tensor) }
      try KeyReader.checkFinite(tensor, file: ffn.source.path, layer: ffn.layer)
    }
    var router: [Float] = []
    var routerBias: [Float]?
    let iterations: Int
    let sse: Double
    let partition: ExpertPartition
    do {
      // The keys live only in this scope, so they are freed before the matrices are permuted.
      let keys: [Float]
      do {
        keys = try KeyReader.keys(of: ffn, choice: layer.keyChoice)
      } catch {
        throw ConversionError.model(error)
      }
      if let tensor = try? ffn.tensor(keyRole) { KeyReader.release(tensor) }
      phase(.clustering)
      if let grouped = layer.partition, let grouping = layer.grouping {
        // Calibration grouped the neurons already: no key clustering.
        partition = grouped
        iterations = grouping.clustering.iterations
        sse = grouping.clustering.sse
      } else {
        let kmeans = BalancedKMeans(
          options: .init(
            experts: experts, allowUneven: options.allowUneven, restarts: layer.restarts,
            seed: UInt64(options.seed)))
        let clustering: Clustering
        do {
          clustering = try kmeans.fit(keys: keys, count: n, dimension: d)
        } catch {
          throw ConversionError.clustering(layer: ffn.layer, error: error, location: keyLocation)
        }
        partition = ExpertPartition(assignment: clustering.assignment, expertCount: experts)
        iterations = clustering.iterations
        sse = clustering.sse
      }
      if options.router == .averageKey || (options.router == .up && layer.keyChoice == .up) {
        keys.withUnsafeBufferPointer { buffer in
          router = AverageKeyRouter.router(keys: buffer, dimension: d, partition: partition)
        }
      }
    }
    if options.router == .up && layer.keyChoice != .up {
      // The up router is the average-key rule applied to Wu's rows.
      let rows: [Float]
      do {
        rows = try KeyReader.keys(of: ffn, choice: .up)
      } catch {
        throw ConversionError.model(error)
      }
      if let tensor = try? ffn.tensor(ffn.keyRole(.up)) { KeyReader.release(tensor) }
      rows.withUnsafeBufferPointer { buffer in
        router = AverageKeyRouter.router(keys: buffer, dimension: d, partition: partition)
      }
    }
    if options.routerBias {
      let bias = try floats(
        ConversionPlan.routerBiasRole(of: ffn, options, choice: layer.keyChoice))
      routerBias = AverageKeyRouter.bias(b1: bias, partition: partition)
    }
    do {
      try writer.setClusteringResult(
        layer: ffn.layer, iterations: iterations, sse: sse, expertSizes: partition.expertSizes)
    } catch {
      throw .container(error)
    }

    phase(.permuting)
    var pendingScales: [Float] = []
    for planned in layer.tensors {
      let name = planned.declaration.name
      switch planned.content {
      case .permutation:
        if planned.declaration.dtype == .i32 {
          try append(name, values: partition.permutation.map { Int32($0) }, writer)
        } else {
          try append(name, values: partition.permutation.map { Int64($0) }, writer)
        }
      case .router:
        try append(name, values: router, writer)
      case .routerBias:
        try append(name, values: routerBias ?? [], writer)
      case .matrix(let role, let move, let quantization):
        pendingScales = try matrix(
          role, move: move, quantization: quantization, name: name, partition: partition,
          writer: writer)
      case .scales:
        try append(name, values: pendingScales, writer)
        pendingScales = []
      case .neuronVector(let role, let decode):
        let tensor = try source(role)
        if decode {
          let values = try floats(role)
          try append(name, values: partition.permutation.map { values[$0] }, writer)
        } else {
          try withBuffer(count: tensor.byteCount) { buffer throws(ConversionError) in
            tensor.withUnsafeBytes { raw in
              NeuronMajorLayout.permuteVector(
                raw, elementBytes: tensor.dtype.blockBytes, permutation: partition.permutation,
                into: buffer)
            }
            try append(name, bytes: UnsafeRawBufferPointer(buffer), writer)
          }
        }
      case .outputBias(let role):
        let tensor = try source(role)
        let outcome = tensor.withUnsafeBytes { raw in
          Result { () throws(ConversionError) in try append(name, bytes: raw, writer) }
        }
        try outcome.get()
      }
    }
    let elapsed = ContinuousClock.now - started
    return ConversionSummary.Layer(
      layer: ffn.layer, experts: experts, expertSizes: partition.expertSizes,
      topK: layer.record.topK,
      n: n, d: d, sse: sse, iterations: iterations, restarts: layer.restarts,
      seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18,
      keys: layer.record.clustering.keys.rawValue, shared: partition.sharedCount)
  }

  // MARK: Matrices

  /// Stores one FFN matrix neuron-major; returns the int8 scales when it was quantised to
  /// int8 rows (appended next, as their own tensor).
  private func matrix(
    _ role: FFNRole, move: TensorMove, quantization: ExpertQuantization,
    name: String, partition: ExpertPartition, writer: ContainerWriter
  ) throws(ConversionError) -> [Float] {
    let tensor = try source(role)
    defer { KeyReader.release(tensor) }
    let n = layer.ffn.intermediateSize
    let d = layer.ffn.hiddenSize
    let permutation = partition.permutation
    var scales: [Float] = []
    if move == .decodedColumns {
      let decoded = try floats(of: tensor)
      var permuted = [Float](repeating: 0, count: decoded.count)
      decoded.withUnsafeBytes { raw in
        permuted.withUnsafeMutableBytes { target in
          NeuronMajorLayout.transposeColumns(
            raw, rows: d, elementBytes: 4, permutation: permutation, into: target)
        }
      }
      if quantization == .none {
        try append(name, values: permuted, writer)
      } else {
        scales = try quantize(permuted, quantization, name: name, writer: writer)
      }
      return scales
    }
    try withBuffer(count: tensor.byteCount) { buffer throws(ConversionError) in
      tensor.withUnsafeBytes { raw in
        if move == .rows {
          NeuronMajorLayout.permuteRows(
            raw, rowBytes: raw.count / n, permutation: permutation, into: buffer)
        } else {
          NeuronMajorLayout.transposeColumns(
            raw, rows: d, elementBytes: tensor.dtype.blockBytes, permutation: permutation,
            into: buffer)
        }
      }
      if quantization == .none {
        try append(name, bytes: UnsafeRawBufferPointer(buffer), writer)
      } else {
        let values = try Self.decode(
          UnsafeRawBufferPointer(buffer), dtype: tensor.dtype, count: n * d, name: tensor.name,
          file: layer.ffn.source.path)
        scales = try quantize(values, quantization, name: name, writer: writer)
      }
    }
    return scales
  }

  /// Quantises a neuron-major `[n, d]` F32 matrix and appends it; returns int8 scales.
  private func quantize(
    _ values: [Float], _ quantization: ExpertQuantization, name: String, writer: ContainerWriter
  ) throws(ConversionError) -> [Float] {
    let n = layer.ffn.intermediateSize
    let d = layer.ffn.hiddenSize
    switch quantization {
    case .none:
      try append(name, values: values, writer)
      return []
    case .int8:
      let (codes, scales) = Int8RowQuantizer.quantize(values, rows: n, columns: d)
      try append(name, values: codes, writer)
      return scales
    case .q8_0:
      let bytes: [UInt8]
      do {
        bytes = try Q8_0Quantizer.quantize(values)
      } catch {
        throw .invalidOptions("\(name): \(error)")
      }
      try append(name, values: bytes, writer)
      return []
    }
  }

  // MARK: Reading

  private func source(_ role: FFNRole) throws(ConversionError) -> Tensor {
    do {
      return try layer.ffn.tensor(role)
    } catch {
      throw .model(error)
    }
  }

  /// A source tensor's values as F32 in stored order.
  private func floats(_ role: FFNRole) throws(ConversionError) -> [Float] {
    try floats(of: try source(role))
  }

  private func floats(of tensor: Tensor) throws(ConversionError) -> [Float] {
    let outcome = tensor.withUnsafeBytes { raw in
      Result { () throws(ConversionError) in
        try Self.decode(
          raw, dtype: tensor.dtype, count: tensor.elementCount, name: tensor.name,
          file: layer.ffn.source.path)
      }
    }
    return try outcome.get()
  }

  /// Decodes `count` values of `dtype` to F32.
  static func decode(
    _ raw: UnsafeRawBufferPointer, dtype: DType, count: Int, name: String, file: String
  ) throws(ConversionError) -> [Float] {
    let location = ErrorLocation(file: file, tensor: name)
    if dtype == .f64 {
      let tensor = Tensor(name: name, dtype: dtype, shape: [count], storage: .owned(Array(raw)))
      do {
        return try Dequantizer.floats(of: tensor)
      } catch {
        throw .model(.unsupportedDType(dtype: dtype, location: location))
      }
    }
    guard dtype.byteCount(elementCount: count) == raw.count else {
      throw .model(
        .unreadableTensor(
          reason: "its bytes do not hold \(count) \(dtype.rawValue) values", location: location))
    }
    do {
      return try Dequantizer.dequantize(dtype, from: raw)
    } catch {
      throw .model(.unreadableTensor(reason: "\(error)", location: location))
    }
  }

  // MARK: Writing

  private func append<T: BitwiseCopyable>(_ name: String, values: [T], _ writer: ContainerWriter)
    throws(ConversionError)
  {
    let outcome = values.withUnsafeBytes { raw in
      Result { () throws(ConversionError) in try append(name, bytes: raw, writer) }
    }
    try outcome.get()
  }

  private func append(_ name: String, bytes: UnsafeRawBufferPointer, _ writer: ContainerWriter)
    throws(ConversionError)
  {
    do {
      try writer.append(name, bytes: bytes)
    } catch {
      throw .container(error)
    }
  }

  /// Calls `body` with an uninitialised buffer of `count` bytes, freed afterwards.
  private func withBuffer(
    count: Int, _ body: (UnsafeMutableRawBufferPointer) throws(ConversionError) -> Void
  ) throws(ConversionError) {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 64)
    defer { buffer.deallocate() }
    try body(UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count]))
  }
}
