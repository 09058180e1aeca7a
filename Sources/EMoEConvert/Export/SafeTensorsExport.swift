import EMoECore
import EMoEFormats
import EMoEModel

/// Exports an `.emoe` container as a Hugging Face checkpoint folder: `model.safetensors`
/// (sharded with an index past ``maximumShardSize``) and a `config.json` carrying the EMoE
/// settings.
///
/// ``Layout/dense`` writes every tensor under its original name and shape, with each converted
/// FFN permuted into expert order in its original layout (W1/Wg/Wu rows, W2/Wd columns, GPT-2's
/// Conv1D `c_fc` transposed back), so code that loads the dense model loads this one, and
/// EMoE's reference LLaMA code reads its experts as contiguous blocks. ``Layout/experts`` writes
/// each converted FFN as stacked expert tensors plus its gate instead.
///
/// Unquantised values are copied bit for bit; int8 rows, Q8_0 and other ggml block types (which
/// safetensors cannot hold) are dequantised to F32.
public struct SafeTensorsExport {
  /// How converted layers are written.
  public enum Layout: String, Sendable, CaseIterable {
    /// Original names and shapes, FFNs permuted into expert order.
    case dense
    /// Stacked experts (`...experts.gate_proj.weight` `[E, n/E, d]`, `...experts.down_proj.weight`
    /// `[E, d, n/E]`) and the gate (`...mlp.gate.weight` `[E, d]`); a shared block as one module
    /// (`...shared_expert.gate_proj.weight` `[S, d]`, `...shared_expert.down_proj.weight`
    /// `[d, S]`).
    case experts
  }

  /// The container to export.
  public let container: ContainerFile
  /// The layout of converted layers.
  public var layout: Layout
  /// The most data bytes per shard (5 GB, huggingface_hub's default).
  public var maximumShardSize: Int = 5_000_000_000

  /// Creates an export of `container` in `layout`.
  public init(container: ContainerFile, layout: Layout = .dense) {
    self.container = container
    self.layout = layout
  }

  /// One output tensor and how to make its bytes.
  struct Output {
    var description: SafeTensorsTensorDescription
    var bytes: () throws(ConversionError) -> TensorStorage
  }

  /// Writes the checkpoint into `directory` (created when absent).
  ///
  /// - Returns: the files written.
  /// - Throws: ``ConversionError``: `invalidInput` when the layout cannot hold the container
  ///   (uneven experts in the experts layout), `io` or `output` when writing fails.
  ///
  /// The folder and its files are checked first (``ExportSafety``): nothing is written into a
  /// folder holding a checkpoint that emoe-pack export did not write, over the container or
  /// its source, or over a file that is not a regular writable file.
  @discardableResult
  public func write(
    to directory: String, progress: ((_ written: Int, _ total: Int) -> Void)? = nil
  ) throws(ConversionError) -> [String] {
    let outputs = try plan()
    let files = fileNames(outputs).map { FileSystem.join(directory, $0) }
    do throws(OutputRefusal) {
      try ExportSafety.checkFolder(directory, writing: files)
    } catch {
      throw .io(.refused(error))
    }
    try ExportSafety.check(container: container, outputs: files)
    try FileSystemPaths.makeDirectory(directory)
    var writtenFiles = try Self.writeTensors(
      outputs, into: directory, metadata: sourceMetadata, maximumShardSize: maximumShardSize,
      container: container, progress: progress)
    let configPath = FileSystem.join(directory, "config.json")
    do throws(FileError) {
      let file = try AtomicFileWriter(destination: configPath)
      try file.write(
        Array((ExportConfig.huggingFace(container, layout: layout).prettySerialized() + "\n").utf8))
      try file.commit()
    } catch {
      throw .io(error)
    }
    writtenFiles.append(configPath)
    return writtenFiles
  }

  /// The names of the files ``write(to:)`` writes into its folder: the shards (or
  /// `model.safetensors`), the index when sharded, and `config.json`.
  public func fileNames() throws(ConversionError) -> [String] {
    fileNames(try plan())
  }

  private func fileNames(_ outputs: [Output]) -> [String] {
    let shards = SafeTensorsShardPlan(
      tensors: outputs.map(\.description), maximumShardSize: maximumShardSize)
    return shards.shards.map(\.fileName)
      + (shards.isSharded ? [SafeTensorsCheckpoint.indexFileName] : []) + ["config.json"]
  }

  /// The source's `__metadata__` (GGUF metadata has no safetensors form and is left out).
  private var sourceMetadata: [(key: String, value: String)] {
    if case .safetensors(let pairs) = container.metadata { return pairs }
    return []
  }

  // MARK: Planning

  /// Every output tensor in container order.
  func plan() throws(ConversionError) -> [Output] {
    let reader = StoredTensors(container: container)
    var layerOf: [String: ContainerLayerRecord] = [:]
    for record in container.layers {
      for name in record.tensors.values { layerOf[name] = record }
    }
    var outputs: [Output] = []
    var done = Set<Int>()
    for entry in container.entries {
      if let record = layerOf[entry.name] {
        guard done.insert(record.layer).inserted else { continue }
        outputs += try layerOutputs(record, reader)
      } else if container.tensorInfos.contains(where: { $0.name == entry.name }) {
        outputs.append(try passthrough(entry, reader))
      }
    }
    return outputs
  }

  private func passthrough(_ entry: ContainerTensorEntry, _ reader: StoredTensors)
    throws(ConversionError) -> Output
  {
    let name = entry.name
    if entry.dtype.safeTensorsRank != nil {
      return Output(
        description: .init(name: name, dtype: entry.dtype, shape: entry.shape),
        bytes: { () throws(ConversionError) in try reader.tensor(name).storage })
    }
    return Output(
      description: .init(name: name, dtype: .f32, shape: entry.shape),
      bytes: { () throws(ConversionError) in .owned(MatrixBytes.bytes(try reader.floats(name))) })
  }

  private func layerOutputs(_ record: ContainerLayerRecord, _ reader: StoredTensors)
    throws(ConversionError) -> [Output]
  {
    switch layout {
    case .dense: try denseOutputs(record, reader)
    case .experts: try expertOutputs(record, reader)
    }
  }

  /// Original names and shapes, in expert order.
  private func denseOutputs(_ record: ContainerLayerRecord, _ reader: StoredTensors)
    throws(ConversionError) -> [Output]
  {
    var outputs: [Output] = []
    for role in ContainerLayerRecord.Role.allCases {
      guard role.isMatrix || role.isNeuronVector || role.isOutputBias,
        let name = record.tensors[role]
      else { continue }
      let entry = try reader.entry(name)
      guard let source = entry.declaration.source else {
        throw .invalidInput(
          "\(ErrorLocation(file: container.path, tensor: name)): the tensor records no source "
            + "tensor, so its original name is unknown")
      }
      let n = record.intermediateSize
      let d = record.hiddenSize
      let transposeBack = role.isMatrix && source.transposed
      let plain = try reader.isPlainSafeTensorsType(name)
      let dtype = plain ? entry.dtype : .f32
      let shape: Shape = role.isMatrix ? (transposeBack ? [d, n] : [n, d]) : entry.shape
      outputs.append(
        Output(
          description: .init(name: source.name, dtype: dtype, shape: shape),
          bytes: { () throws(ConversionError) in
            if plain && !transposeBack { return try reader.tensor(name).storage }
            if plain {
              let stored = try reader.tensor(name)
              return .owned(
                stored.withUnsafeBytes { raw in
                  MatrixBytes.transposed(raw, rows: n, columns: d, elementBytes: dtype.blockBytes)
                })
            }
            let values = try reader.floats(name)
            guard transposeBack else { return .owned(MatrixBytes.bytes(values)) }
            return .owned(
              values.withUnsafeBytes { raw in
                MatrixBytes.transposed(raw, rows: n, columns: d, elementBytes: 4)
              })
          }))
    }
    return outputs
  }

  /// Stacked experts and the gate.
  private func expertOutputs(_ record: ContainerLayerRecord, _ reader: StoredTensors)
    throws(ConversionError) -> [Output]
  {
    let experts = record.expertCount
    let n = record.intermediateSize
    let d = record.hiddenSize
    let shared = record.sharedCount
    guard Set(record.expertSizes).count == 1, let size = record.expertSizes.first else {
      throw .invalidInput(
        "\(container.path): layer \(record.layer) has experts of sizes "
          + "\(Set(record.expertSizes).sorted()), but stacked expert tensors need equal sizes "
          + "(export with the dense layout)")
    }
    var outputs: [Output] = []
    var keyName: String?
    for role in ContainerLayerRecord.Role.allCases {
      guard role.isMatrix || role.isNeuronVector || role.isOutputBias,
        let name = record.tensors[role]
      else { continue }
      let entry = try reader.entry(name)
      guard let source = entry.declaration.source else {
        throw .invalidInput(
          "\(ErrorLocation(file: container.path, tensor: name)): the tensor records no source tensor"
        )
      }
      if role == keyRole(record) { keyName = source.name }
      if role.isOutputBias {
        let plain = try reader.isPlainSafeTensorsType(name)
        outputs.append(
          Output(
            description: .init(
              name: source.name, dtype: plain ? entry.dtype : .f32, shape: entry.shape),
            bytes: { () throws(ConversionError) in
              plain
                ? try reader.tensor(name).storage
                : .owned(MatrixBytes.bytes(try reader.floats(name)))
            }))
        continue
      }
      let plain = try reader.isPlainSafeTensorsType(name)
      let dtype = plain ? entry.dtype : .f32
      let stackedName = ExportNames.experts(source.name)
      let isOutputSide = role == .w2 || role == .wd
      let shape: Shape =
        role.isMatrix
        ? (isOutputSide ? [experts, d, size] : [experts, size, d]) : [experts, size]
      // The stored rows (or values) of the shared block, then of the routed experts.
      let read = { () throws(ConversionError) -> [UInt8] in
        plain ? try reader.bytes(name) : MatrixBytes.bytes(try reader.floats(name))
      }
      outputs.append(
        Output(
          description: .init(name: stackedName, dtype: dtype, shape: shape),
          bytes: { () throws(ConversionError) in
            let all = try read()
            let raw = Array(all[(all.count / n * shared)...])
            guard isOutputSide else { return .owned(raw) }
            return .owned(
              raw.withUnsafeBytes { bytes in
                MatrixBytes.transposedBlocks(
                  bytes, experts: experts, size: size, columns: d, elementBytes: dtype.blockBytes)
              })
          }))
      if shared > 0 {
        let sharedShape: Shape =
          role.isMatrix ? (isOutputSide ? [d, shared] : [shared, d]) : [shared]
        outputs.append(
          Output(
            description: .init(
              name: ExportNames.shared(source.name), dtype: dtype, shape: sharedShape),
            bytes: { () throws(ConversionError) in
              let all = try read()
              let raw = Array(all[..<(all.count / n * shared)])
              guard isOutputSide else { return .owned(raw) }
              return .owned(
                raw.withUnsafeBytes { bytes in
                  MatrixBytes.transposed(
                    bytes, rows: shared, columns: d, elementBytes: dtype.blockBytes)
                })
            }))
      }
    }
    let base = ExportNames.gate(keyName ?? "layers.\(record.layer).mlp.up.weight")
    if let gate = record.tensors[.router] {
      outputs.append(
        Output(
          description: .init(name: base + ".weight", dtype: .f32, shape: [experts, d]),
          bytes: { () throws(ConversionError) in try reader.tensor(gate).storage }))
    }
    if let bias = record.tensors[.routerBias] {
      outputs.append(
        Output(
          description: .init(name: base + ".bias", dtype: .f32, shape: [experts]),
          bytes: { () throws(ConversionError) in try reader.tensor(bias).storage }))
    }
    return outputs
  }

  /// The role whose source name places the gate: the key matrix.
  private func keyRole(_ record: ContainerLayerRecord) -> ContainerLayerRecord.Role {
    ContainerLayerRecord.Role(record.routerKeys.ffnRole)
  }
}

/// Names of the experts layout.
enum ExportNames {
  /// `a.b.proj.weight` → `a.b.experts.proj.weight`: `experts` before the module name.
  static func experts(_ name: String) -> String {
    var parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    guard parts.count >= 2 else { return "experts." + name }
    parts.insert("experts", at: parts.count - 2)
    return parts.joined(separator: ".")
  }

  /// `a.b.proj.weight` → `a.b.shared_expert.proj.weight`: the always-active shared block.
  static func shared(_ name: String) -> String {
    var parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    guard parts.count >= 2 else { return "shared_expert." + name }
    parts.insert("shared_expert", at: parts.count - 2)
    return parts.joined(separator: ".")
  }

  /// `a.b.proj.weight` → `a.b.gate`: the gate module beside the key matrix's module.
  static func gate(_ keyName: String) -> String {
    let parts = keyName.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    guard parts.count >= 2 else { return "gate" }
    return (parts.dropLast(2) + ["gate"]).joined(separator: ".")
  }
}

/// Folder creation for exports.
enum FileSystemPaths {
  /// Creates `path` (and its parents) when absent.
  static func makeDirectory(_ path: String) throws(ConversionError) {
    var isDirectory = false
    if FileSystem.exists(path, isDirectory: &isDirectory) {
      guard isDirectory else {
        throw .invalidOptions(
          "\(path): exists and is not a folder (safetensors export writes a folder)")
      }
      return
    }
    let parent = FileSystem.directory(of: path)
    if parent != path && parent != "." && parent != "/" && !FileSystem.exists(parent) {
      try makeDirectory(parent)
    }
    if mkdir(path, 0o755) != 0 && !FileSystem.exists(path) {
      throw .io(FileError.fromErrno(path, "create the folder"))
    }
  }
}
