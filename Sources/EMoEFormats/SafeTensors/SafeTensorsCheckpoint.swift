import EMoECore

/// A Hugging Face checkpoint: shards named by a `model.safetensors.index.json`, or a single
/// `model.safetensors`, read as one model.
///
/// The index and the shards are cross-checked before anything is used: every shard exists and
/// is a valid safetensors file, every tensor the `weight_map` names is in the shard it names,
/// every shard tensor is in the `weight_map`, and no tensor lives in two shards. Tensors are
/// ordered shard by shard, shards in file-name order, tensors in data-offset order within each.
///
/// ``metadata`` holds the index's `metadata` object without `total_size`: that count is derived
/// from the tensors (writers recompute it), and is often stale after editing, so it is exposed
/// separately as ``declaredTotalSize`` rather than mixed into the string pairs. Other non-string
/// values there (such as transformers' `total_parameters`) are kept as their compact JSON text.
/// For a single file, ``metadata`` is that file's `__metadata__`.
public struct SafeTensorsCheckpoint: ModelSource {
  /// The index's file name in a checkpoint folder.
  public static let indexFileName = "model.safetensors.index.json"
  /// The file name of an unsharded checkpoint.
  public static let singleFileName = "model.safetensors"

  /// The path the user gave (index, folder or file).
  public let path: String
  /// The index file, when the checkpoint is sharded.
  public let indexPath: String?
  /// The shards in file-name order (one file when unsharded).
  public let shards: [SafeTensorsFile]
  /// The model's metadata (see the type's discussion).
  public let metadata: SourceMetadata
  /// The index's `metadata.total_size`, when it declares one.
  public let declaredTotalSize: Int?
  /// The `config.json` beside the index or file, when there is one.
  public let config: JSONValue?
  private let placeByName: [String: (shard: Int, entry: Int)]

  /// Opens the checkpoint at `path`: a `model.safetensors.index.json`, a folder holding one (or
  /// holding a single `model.safetensors`), or a `.safetensors` file.
  ///
  /// - Throws: ``FileError`` when a file cannot be opened; ``SafeTensorsError`` when the index,
  ///   a shard or their agreement is invalid.
  public init(path: String) throws {
    self.path = path
    var isDirectory = false
    guard FileSystem.exists(path, isDirectory: &isDirectory) else {
      _ = try MappedFile(path: path)  // Reports the system's own "No such file" error.
      throw SafeTensorsError(.invalidIndex, ErrorLocation(file: path), detail: "cannot be read")
    }
    var index: String?
    var single: String?
    if isDirectory {
      let candidate = FileSystem.join(path, Self.indexFileName)
      if FileSystem.exists(candidate) {
        index = candidate
      } else if FileSystem.exists(FileSystem.join(path, Self.singleFileName)) {
        single = FileSystem.join(path, Self.singleFileName)
      } else {
        throw SafeTensorsError(
          .invalidIndex, ErrorLocation(file: path),
          detail: "the folder holds neither \(Self.indexFileName) nor \(Self.singleFileName)")
      }
    } else if path.hasSuffix(".json") {
      index = path
    } else {
      single = path
    }

    if let single {
      let file = try SafeTensorsFile(path: single)
      indexPath = nil
      shards = [file]
      metadata = file.metadata
      declaredTotalSize = nil
      config = file.config
      var map: [String: (shard: Int, entry: Int)] = [:]
      for (position, entry) in file.entries.enumerated() { map[entry.name] = (0, position) }
      placeByName = map
      return
    }
    let indexFile = index ?? path
    let parsed = try SafeTensorsIndex(path: indexFile)
    indexPath = indexFile
    metadata = .safetensors(parsed.metadata)
    declaredTotalSize = parsed.totalSize
    config = try SafeTensorsFile.loadConfig(besides: indexFile)

    let folder = FileSystem.directory(of: indexFile)
    let shardNames = Set(parsed.weightMap.map(\.shard)).sorted()
    var opened: [SafeTensorsFile] = []
    for name in shardNames {
      let shardPath = FileSystem.join(folder, name)
      guard FileSystem.exists(shardPath) else {
        let tensor = parsed.weightMap.first { $0.shard == name }?.tensor
        throw SafeTensorsError(
          .weightMapMismatch, ErrorLocation(file: indexFile, tensor: tensor, key: "weight_map"),
          detail: "the shard '\(name)' it names does not exist")
      }
      opened.append(try SafeTensorsFile(path: shardPath))
    }
    shards = opened
    placeByName = try Self.crossCheck(
      weightMap: parsed.weightMap, shardNames: shardNames, shards: opened, indexPath: indexFile)
  }

  /// Checks that the weight map and the shards agree; returns where each tensor lives.
  private static func crossCheck(
    weightMap: [(tensor: String, shard: String)], shardNames: [String],
    shards: [SafeTensorsFile], indexPath: String
  ) throws(SafeTensorsError) -> [String: (shard: Int, entry: Int)] {
    var found: [String: (shard: Int, entry: Int)] = [:]
    for (shardIndex, shard) in shards.enumerated() {
      for (entryIndex, entry) in shard.entries.enumerated() {
        if let earlier = found[entry.name] {
          throw SafeTensorsError(
            .weightMapMismatch,
            ErrorLocation(
              file: shard.path, tensor: entry.name, offset: shard.header.entryOffsets[entry.name]),
            detail:
              "the tensor is in both '\(shardNames[earlier.shard])' and '\(shardNames[shardIndex])'"
          )
        }
        found[entry.name] = (shardIndex, entryIndex)
      }
    }
    var mapped: [String: String] = [:]
    for (tensor, shardName) in weightMap {
      mapped[tensor] = shardName
      guard let place = found[tensor] else {
        throw SafeTensorsError(
          .weightMapMismatch, ErrorLocation(file: indexPath, tensor: tensor, key: "weight_map"),
          detail: "the weight map puts the tensor in '\(shardName)', which does not contain it")
      }
      guard shardNames[place.shard] == shardName else {
        throw SafeTensorsError(
          .weightMapMismatch, ErrorLocation(file: indexPath, tensor: tensor, key: "weight_map"),
          detail:
            "the weight map puts the tensor in '\(shardName)' but it is in '\(shardNames[place.shard])'"
        )
      }
    }
    for (shardIndex, shard) in shards.enumerated() {
      for entry in shard.entries where mapped[entry.name] == nil {
        throw SafeTensorsError(
          .weightMapMismatch,
          ErrorLocation(
            file: shard.path, tensor: entry.name, offset: shard.header.entryOffsets[entry.name]),
          detail: "the tensor in '\(shardNames[shardIndex])' is missing from the weight map")
      }
    }
    return found
  }

  /// The shard files in file-name order.
  public var files: [String] { shards.map(\.path) }

  /// Every tensor's description: shard by shard, data-offset order within each.
  public var tensorInfos: [TensorInfo] { shards.flatMap { $0.tensorInfos } }

  /// Every tensor's entry with the shard it lives in, in ``tensorInfos`` order.
  public var entries: [(entry: SafeTensorsEntry, shard: SafeTensorsFile)] {
    shards.flatMap { shard in shard.entries.map { ($0, shard) } }
  }

  /// The sum of every tensor's data bytes.
  public var totalByteCount: Int { shards.reduce(0) { $0 + $1.totalByteCount } }

  /// The shard holding the tensor named `name`, or `nil`.
  public func shard(containing name: String) -> SafeTensorsFile? {
    placeByName[name].map { shards[$0.shard] }
  }

  /// The tensor named `name`, backed by its shard's mapping (no copy).
  ///
  /// - Throws: ``SafeTensorsError`` of kind ``SafeTensorsError/Kind/tensorNotFound``.
  public func tensor(named name: String) throws -> Tensor {
    guard let place = placeByName[name] else {
      throw SafeTensorsError(
        .tensorNotFound, ErrorLocation(file: indexPath ?? path, tensor: name),
        detail: "the checkpoint has no tensor of that name")
    }
    let shard = shards[place.shard]
    return shard.tensor(for: shard.entries[place.entry])
  }
}
