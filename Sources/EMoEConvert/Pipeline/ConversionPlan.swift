import EMoECore
import EMoEFormats
import EMoEModel

/// Everything a conversion will do, decided and checked before any work: which layers, E,
/// top-k, how each tensor is stored, and the order of the container's tensors.
///
/// Building a plan raises every error a conversion can foresee, so nothing is written for an
/// input that cannot be converted: an unknown model (listing its tensor-name shapes), a missing
/// FFN tensor, shapes that disagree, n not divisible by E (unless uneven sizes are allowed),
/// top-k outside 1...E, NaN or infinity in a key matrix, and options that do not fit the model.
///
/// Defaults follow the EMoE paper for the detected family (``EMoEModel/ConversionDefaults``):
/// BERT-like and GPT-2 models get E = 16, top-k = 4 on the last two layers; LLaMA-like GLU
/// models E = 64, top-k = E/4 on every second layer of the upper half. An `--experts` given
/// without `--top-k` gets top-k = E/4 (at least 1).
///
/// A layer given a ``NeuronGrouping`` (chosen by calibration) is not clustered: its shared block
/// and routed experts come from the grouping, and so do its E, its top-k when the grouping sets
/// one, and its record's `clustering`.
public struct ConversionPlan: Sendable {
  /// One converted layer.
  public struct Layer: Sendable {
    /// The layer's FFN in the source.
    public var ffn: LayerFFN
    /// Which matrix's rows are the keys.
    public var keyChoice: LayerFFN.KeyMatrix
    /// The restarts the clustering runs.
    public var restarts: Int
    /// The container's record (clustering results are filled in while converting).
    public var record: ContainerLayerRecord
    /// The tensors the layer stores, in append order.
    public var tensors: [PlannedTensor]
    /// The grouping that replaces clustering for this layer, or `nil` to cluster its keys.
    public var grouping: NeuronGrouping?
    /// The layout the grouping gives (shared block first), or `nil` when the layer is clustered.
    public var partition: ExpertPartition?

    /// The model's index of the layer.
    public var index: Int { ffn.layer }
  }

  /// One step of the streamed conversion, in the order tensors are appended.
  public enum Step: Sendable {
    /// Copy a source tensor unchanged.
    case passthrough(TensorInfo)
    /// Convert the layer at this position of ``layers``.
    case layer(Int)
  }

  /// The path the user gave.
  public let inputPath: String
  /// The opened model.
  public let source: any ModelSource
  /// The source format as the container records it (`safetensors`, `safetensors_index`, `gguf`).
  public let sourceFormat: FileKind
  /// The recognised architecture.
  public let architecture: Architecture
  /// The options as given.
  public let options: ConversionOptions
  /// E, the experts per layer.
  public let experts: Int
  /// Experts selected per token.
  public let topK: Int
  /// The layer selection applied (the user's or the paper's default).
  public let layerSelection: LayerSelection
  /// The converted layers, in the order they are processed (the order their tensors first
  /// appear in the source).
  public let layers: [Layer]
  /// The groupings given for layers (by model index), which replace their clustering.
  public let groupings: [Int: NeuronGrouping]
  /// The streamed steps.
  public let steps: [Step]
  /// Every container tensor, in append order.
  public let declarations: [ContainerTensorDeclaration]
  /// The files the output depends on: the input, its shards and its `config.json`.
  public var dependencies: [String]
  /// What calibration chose and measured, recorded as the container's `calibration`; set by the
  /// caller that ran the calibration.
  public var calibration: JSONValue?

  /// Opens the model at `path` and plans its conversion.
  ///
  /// - Parameters:
  ///   - scanKeys: whether to scan every key matrix for NaN and infinity now (one read of the
  ///     key matrices) rather than while converting.
  ///   - topKByLayer: a top-k for some converted layers (by model layer index) in place of the
  ///     conversion's; each must be in `1...E` and name a converted layer.
  /// - Throws: ``ConversionError`` (see the type's summary).
  public init(
    input path: String, options: ConversionOptions, groupings: [Int: NeuronGrouping] = [:],
    scanKeys: Bool = true, topKByLayer: [Int: Int] = [:]
  ) throws(ConversionError) {
    let (source, format) = try ModelInput.open(path)
    try self.init(
      source: source, format: format, inputPath: path, options: options, groupings: groupings,
      scanKeys: scanKeys, topKByLayer: topKByLayer)
  }

  /// Plans the conversion of an opened model.
  ///
  /// - Throws: ``ConversionError`` (see the type's summary).
  public init(
    source: any ModelSource, format: FileKind, inputPath: String, options: ConversionOptions,
    groupings: [Int: NeuronGrouping] = [:], scanKeys: Bool = true, topKByLayer: [Int: Int] = [:]
  ) throws(ConversionError) {
    try options.validate()
    // The calibration text becomes groupings before planning; options that record one without
    // them would write a container that claims a calibration it never had.
    if let calibration = options.calibration, groupings.isEmpty {
      throw .invalidOptions(
        "--calibration \(calibration): no neuron grouping was computed from it (the calibration "
          + "step must run before the conversion is planned)")
    }
    self.groupings = groupings
    self.inputPath = inputPath
    self.source = source
    self.sourceFormat = format
    self.options = options
    do {
      let pattern = try options.ffnPattern.map { spec throws(ModelError) in
        try FFNPattern.parse(spec)
      }
      let architecture = try Architecture.detect(source, ffnPattern: pattern)
      self.architecture = architecture
      let defaults = ConversionDefaults.paper(for: architecture)
      let experts = options.experts ?? defaults.experts
      guard experts >= 1 else {
        throw ConversionError.invalidOptions("--experts must be at least 1, not \(experts)")
      }
      self.experts = experts
      topK = options.topK ?? (options.experts == nil ? defaults.topK : max(1, experts / 4))
      layerSelection =
        try options.layers.map { spec throws(ModelError) in
          try LayerSelection.parse(spec)
        } ?? defaults.layers
      let selected = try layerSelection.resolve(layerCount: architecture.layerCount)
      // A calibrated conversion converts exactly the layers calibration grouped: with a bound,
      // it leaves dense the layers that cannot be made sparse within it.
      let indices =
        options.calibration == nil ? selected : selected.filter { groupings[$0] != nil }
      let ffns = try architecture.layers(indices, in: source)
      for layer in groupings.keys.sorted() where !selected.contains(layer) {
        throw ConversionError.invalidOptions(
          "a neuron grouping is given for layer \(layer), which the layer selection "
            + "\(selected.sorted()) does not convert")
      }
      // Grouped layers follow their grouping's sizes, checked below, not --experts.
      try ExpertSettings(experts: experts, topK: topK, allowUneven: options.allowUneven)
        .validate(ffns.filter { groupings[$0.layer] == nil })
      for ffn in ffns {
        if let grouping = groupings[ffn.layer] {
          try Self.checkGrouping(grouping, ffn: ffn, topK: topK, allowUneven: options.allowUneven)
        }
      }
      try Self.checkOptions(options, ffns: ffns, groupings: groupings)
      for (layer, k) in topKByLayer.sorted(by: { $0.key < $1.key }) {
        guard indices.contains(layer) else {
          throw ConversionError.invalidOptions(
            "a top-k is given for layer \(layer), which is not converted")
        }
        guard (1...experts).contains(k) else {
          throw ConversionError.invalidOptions(
            "layer \(layer): top-k \(k) is outside 1...\(experts)")
        }
      }
      if scanKeys {
        for ffn in ffns {
          let choice = Self.keyChoice(ffn, options: options, grouping: groupings[ffn.layer])
          if let row = try KeyReader.firstNonFiniteKey(of: ffn, choice: choice) {
            throw ModelError.nonFinite(
              layer: ffn.layer, row: row,
              location: ErrorLocation(
                file: source.path, tensor: ffn.member(ffn.keyRole(choice))?.info.name))
          }
        }
      }
      (layers, steps) = try Self.schedule(
        ffns, source: source, options: options, experts: experts, topK: topK,
        groupings: groupings, topKByLayer: topKByLayer)
    } catch {
      throw .reading(error)
    }
    var declarations: [ContainerTensorDeclaration] = []
    for step in steps {
      switch step {
      case .passthrough(let info):
        declarations.append(.passthrough(info, compression: Self.compression(options)))
      case .layer(let position):
        declarations += layers[position].tensors.map(\.declaration)
      }
    }
    self.declarations = declarations
    dependencies =
      Self.dependencies(source: source, inputPath: inputPath)
      + (options.calibration.map { [$0] } ?? [])
    try Self.checkNames(declarations, file: source.path)
  }

  /// The container plan for the given source-file descriptions (their SHA-256 is computed
  /// while converting, as it reads every byte).
  public func containerPlan(sourceFiles: [ContainerSourceFile], tool: ContainerTool)
    -> ContainerPlan
  {
    ContainerPlan(
      tool: tool, options: options.json,
      source: ContainerSourceDescription(
        format: sourceFormat.rawValue, files: sourceFiles, metadata: source.metadata,
        config: source.config),
      layers: layers.map(\.record).sorted { $0.layer < $1.layer }, tensors: declarations,
      calibration: calibration)
  }

  /// The container tensors whose values differ from their source tensor's, with how.
  public var changedTensors:
    [(name: String, source: String, values: ContainerTensorSource.ValueChange)]
  {
    declarations.compactMap { declaration in
      guard let source = declaration.source, source.values != .exact else { return nil }
      return (declaration.name, source.name, source.values)
    }
  }

  // MARK: Planning

  static func compression(_ options: ConversionOptions) -> ContainerCompression {
    options.compressionLevel.map { .zstd(level: $0) } ?? .none
  }

  /// Refuses options that do not fit the model's layers.
  private static func checkOptions(
    _ options: ConversionOptions, ffns: [LayerFFN], groupings: [Int: NeuronGrouping]
  ) throws(ConversionError) {
    for ffn in ffns {
      let choice = keyChoice(ffn, options: options, grouping: groupings[ffn.layer])
      let keyName = ffn.member(ffn.keyRole(choice))?.info.name
      let location = ErrorLocation(file: ffn.source.path, tensor: keyName)
      if groupings[ffn.layer] == nil && options.clusterOn == .up && !ffn.isGLU {
        throw .invalidOptions(
          "\(location): --cluster-on up needs a gated (GLU) FFN; layer \(ffn.layer) is a plain "
            + "FFN whose keys are the rows of W1")
      }
      if options.quantize == .q8_0 && ffn.hiddenSize % 32 != 0 {
        throw .invalidOptions(
          "\(location): --quantize q8_0 needs rows whose length is a multiple of 32; layer "
            + "\(ffn.layer) has d = \(ffn.hiddenSize) (use --quantize int8)")
      }
      if options.router.needsGLU && !ffn.isGLU {
        throw .invalidOptions(
          "\(location): --router \(options.router.argumentName) scores experts on the up "
            + "projection of a gated (GLU) FFN; layer \(ffn.layer) is a plain FFN "
            + "without an up matrix; use --router average-key")
      }
      let bias = routerBiasRole(of: ffn, options, choice: choice)
      if options.routerBias && ffn.member(bias) == nil {
        throw .invalidOptions(
          "\(location): --router-bias averages the router's bias over each expert, but layer "
            + "\(ffn.layer) has no \(bias) tensor")
      }
    }
  }

  /// The matrix whose rows the layer's router averages: the grouping's keys (Wg or W1 for
  /// neurons grouped by their activations), else `--cluster-on`.
  static func keyChoice(_ ffn: LayerFFN, options: ConversionOptions, grouping: NeuronGrouping?)
    -> LayerFFN.KeyMatrix
  {
    guard let grouping else { return options.clusterOn }
    return grouping.clustering.keys == .up ? .up : .gate
  }

  /// Refuses a grouping that does not describe the layer: one label per neuron, each in
  /// `-1..<E`, every expert non-empty, sizes ⌊(n-S)/E⌋ or ⌈(n-S)/E⌉ (all equal unless uneven
  /// sizes are allowed), a top-k in `1...E`, and keys the FFN has.
  static func checkGrouping(
    _ grouping: NeuronGrouping, ffn: LayerFFN, topK: Int, allowUneven: Bool
  ) throws(ConversionError) {
    let n = ffn.intermediateSize
    let experts = grouping.experts
    let location = ErrorLocation(
      file: ffn.source.path, tensor: ffn.member(ffn.keyRole())?.info.name)
    func refuse(_ detail: String) -> ConversionError {
      .invalidOptions("\(location): the neuron grouping of layer \(ffn.layer) \(detail)")
    }
    guard grouping.assignment.count == n else {
      throw refuse("labels \(grouping.assignment.count) neurons; the layer has n = \(n)")
    }
    guard experts >= 1 else { throw refuse("has \(experts) routed experts; at least 1 is needed") }
    var sizes = [Int](repeating: 0, count: experts)
    for (neuron, label) in grouping.assignment.enumerated() {
      guard label == NeuronGrouping.sharedExpert || (0..<experts).contains(label) else {
        throw refuse(
          "gives neuron \(neuron) the label \(label), outside -1 (shared) and 0..<\(experts)")
      }
      if label >= 0 { sizes[label] += 1 }
    }
    if let empty = sizes.firstIndex(of: 0) {
      throw refuse("leaves expert \(empty) of \(experts) without neurons")
    }
    let shared = n - sizes.reduce(0, +)
    let routed = n - shared
    let small = routed / experts
    let large = (routed + experts - 1) / experts
    if let bad = sizes.firstIndex(where: { $0 != small && $0 != large }) {
      throw refuse(
        "gives expert \(bad) \(sizes[bad]) neurons; the \(routed) routed neurons (n \(n) less "
          + "\(shared) shared) split into \(experts) experts of \(small) or \(large)")
    }
    if small != large && !allowUneven {
      throw refuse(
        "splits \(routed) routed neurons (n \(n) less \(shared) shared) into \(experts) experts "
          + "of unequal sizes; pass --allow-uneven or give n - S divisible by E")
    }
    let k = grouping.topK ?? topK
    guard (1...experts).contains(k) else {
      throw refuse(
        "selects top-k \(k)\(grouping.topK == nil ? " (the conversion's)" : ""), outside "
          + "1...\(experts)")
    }
    let keys = grouping.clustering.keys
    let keysFit =
      keys == .activations || (ffn.isGLU ? keys == .gate || keys == .up : keys == .w1)
    guard keysFit else {
      throw refuse(
        "records '\(keys.rawValue)' keys, which a \(ffn.isGLU ? "GLU" : "plain") FFN does not have")
    }
  }

  /// The input-side bias whose expert means are the router bias: the up bias for the `up`
  /// router, otherwise the bias of the matrix the router averages.
  static func routerBiasRole(
    of ffn: LayerFFN, _ options: ConversionOptions, choice: LayerFFN.KeyMatrix
  ) -> FFNRole {
    biasRole(of: ffn, options.router == .up ? .up : choice)
  }

  /// The input-side bias belonging to the key matrix.
  static func biasRole(of ffn: LayerFFN, _ choice: LayerFFN.KeyMatrix) -> FFNRole {
    // Every key role is a matrix, so it has a bias role.
    ffn.keyRole(choice).bias ?? .b1
  }

  /// Orders the work as the source orders its tensors and plans every converted layer.
  private static func schedule(
    _ ffns: [LayerFFN], source: any ModelSource, options: ConversionOptions, experts: Int,
    topK: Int, groupings: [Int: NeuronGrouping], topKByLayer: [Int: Int]
  ) throws(ModelError) -> ([Layer], [Step]) {
    var layerOfTensor: [String: Int] = [:]
    for (position, ffn) in ffns.enumerated() {
      for member in ffn.members { layerOfTensor[member.info.name] = position }
    }
    var order: [Int] = []
    var positionInOrder: [Int: Int] = [:]
    var steps: [Step] = []
    for info in source.tensorInfos {
      guard let position = layerOfTensor[info.name] else {
        steps.append(.passthrough(info))
        continue
      }
      if positionInOrder[position] == nil {
        positionInOrder[position] = order.count
        steps.append(.layer(order.count))
        order.append(position)
      }
    }
    let layers = order.map { position in
      plan(
        ffns[position], options: options, experts: experts,
        topK: topKByLayer[ffns[position].layer] ?? topK,
        grouping: groupings[ffns[position].layer])
    }
    return (layers, steps)
  }

  /// Plans one layer's stored tensors and record; a grouping (already checked) sets its
  /// layout instead of clustering.
  static func plan(
    _ ffn: LayerFFN, options: ConversionOptions, experts: Int, topK: Int,
    grouping: NeuronGrouping? = nil
  ) -> Layer {
    let experts = grouping?.experts ?? experts
    let topK = grouping?.topK ?? topK
    let partition = grouping.map {
      ExpertPartition(assignment: $0.assignment, expertCount: $0.experts)
    }
    let n = ffn.intermediateSize
    let d = ffn.hiddenSize
    let prefix = "emoe.layers.\(ffn.layer)."
    let compression = compression(options)
    var tensors: [PlannedTensor] = []
    var roles: [ContainerLayerRecord.Role: String] = [:]
    func add(
      _ role: ContainerLayerRecord.Role?, _ suffix: String, _ dtype: DType, _ shape: Shape,
      _ content: PlannedTensor.Content, encoding: ContainerEncoding = .plain,
      source: ContainerTensorSource? = nil
    ) {
      let name = prefix + suffix
      if let role { roles[role] = name }
      tensors.append(
        PlannedTensor(
          declaration: ContainerTensorDeclaration(
            name: name, dtype: dtype, shape: shape, encoding: encoding, compression: compression,
            source: source),
          content: content))
    }
    add(.permutation, "permutation", n <= Int(Int32.max) ? .i32 : .i64, [n], .permutation)
    if options.router.storesRouterMatrix { add(.router, "router", .f32, [experts, d], .router) }
    if options.routerBias { add(.routerBias, "router_bias", .f32, [experts], .routerBias) }

    for member in ffn.members {
      let info = member.info
      let role = ContainerLayerRecord.Role(member.role)
      let move = TensorMove(member.role, transposed: ffn.transposed, dtype: info.dtype)
      switch move {
      case .rows, .columns, .decodedColumns:
        // Whole quantised rows stay as they are; --quantize applies to float values.
        let keepsBlocks = move == .rows && info.dtype.isQuantized
        let quantization = keepsBlocks ? .none : options.quantize
        let storedDType: DType
        let values: ContainerTensorSource.ValueChange
        switch (quantization, move) {
        case (.none, .decodedColumns):
          storedDType = .f32
          values = .lossless
        case (.none, _):
          storedDType = info.dtype
          values = .exact
        case (.int8, _):
          storedDType = .i8
          values = .lossy
        case (.q8_0, _):
          storedDType = .q8_0
          values = .lossy
        }
        let source = ContainerTensorSource(
          name: info.name, dtype: info.dtype, shape: info.shape, transposed: move.readsColumns,
          values: values)
        let suffix = role.rawValue
        if quantization == .int8 {
          add(
            role, suffix, .i8, [n, d], .matrix(member.role, move, quantization),
            encoding: .int8Rows(scales: prefix + suffix + ".scale"), source: source)
          add(nil, suffix + ".scale", .f32, [n], .scales(member.role))
        } else {
          add(
            role, suffix, storedDType, [n, d], .matrix(member.role, move, quantization),
            source: source)
        }
      case .values, .decodedValues:
        let decode = move.decodes
        add(
          role, role.rawValue, decode ? .f32 : info.dtype, [n],
          .neuronVector(member.role, decode: decode),
          source: ContainerTensorSource(
            name: info.name, dtype: info.dtype, shape: info.shape, transposed: false,
            values: decode ? .lossless : .exact))
      case .copy:
        add(
          role, role.rawValue, info.dtype, info.shape, .outputBias(member.role),
          source: ContainerTensorSource(
            name: info.name, dtype: info.dtype, shape: info.shape, transposed: false,
            values: .exact))
      }
    }
    let keyChoice = keyChoice(ffn, options: options, grouping: grouping)
    let keySource = ContainerLayerRecord.KeySource(ffn.keyRole(keyChoice)) ?? .w1
    let restarts =
      grouping?.clustering.restarts ?? options.restarts
      ?? BalancedKMeans.defaultRestarts(keys: n, dimension: d, experts: experts)
    let record = ContainerLayerRecord(
      layer: ffn.layer, family: ffn.isGLU ? .glu : .plain, activation: ffn.activation.rawValue,
      transposedSource: ffn.transposed, hiddenSize: d, intermediateSize: n, expertCount: experts,
      expertSizes: partition?.expertSizes
        ?? ContainerLayerRecord.balancedSizes(neurons: n, experts: experts),
      sharedCount: partition?.sharedCount ?? 0, topK: topK,
      clustering: grouping?.clustering
        ?? .init(
          method: "balanced_kmeans", keys: keySource, seed: options.seed, restarts: restarts,
          iterations: 0, sse: 0),
      tensors: roles, router: options.router)
    return Layer(
      ffn: ffn, keyChoice: keyChoice, restarts: restarts, record: record,
      tensors: tensors, grouping: grouping, partition: partition)
  }

  /// Refuses a source whose tensor names collide with the names converted layers use.
  private static func checkNames(_ declarations: [ContainerTensorDeclaration], file: String)
    throws(ConversionError)
  {
    var seen = Set<String>()
    for declaration in declarations where !seen.insert(declaration.name).inserted {
      throw .invalidInput(
        "\(ErrorLocation(file: file, tensor: declaration.name)): the source has a tensor whose "
          + "name the converted layers use (emoe.layers.N.*); rename it first")
    }
  }

  /// The input path (when it is a file), every source file and the `config.json` read.
  static func dependencies(source: any ModelSource, inputPath: String) -> [String] {
    var result: [String] = []
    var isDirectory = false
    if FileSystem.exists(inputPath, isDirectory: &isDirectory), !isDirectory {
      result.append(inputPath)
    } else if let checkpoint = source as? SafeTensorsCheckpoint, let index = checkpoint.indexPath {
      result.append(index)
    }
    for file in source.files where !result.contains(file) { result.append(file) }
    if source.config != nil, let first = source.files.first {
      let config = FileSystem.join(FileSystem.directory(of: first), "config.json")
      if !result.contains(config) { result.append(config) }
    }
    return result
  }
}
