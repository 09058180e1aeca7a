import EMoECore

extension SafeTensorsWriter {
  /// Writes a checkpoint into `directory`, sharded by ``SafeTensorsShardPlan`` when a maximum
  /// shard size is given, with a `model.safetensors.index.json` when there is more than one shard.
  ///
  /// Every shard's header carries `metadata` (with `"format": "pt"` added when absent). The index
  /// is `{"metadata": {"total_size": N, …metadata}, "weight_map": {…}}` with `weight_map` sorted
  /// by tensor name, indented by two spaces as huggingface_hub writes it.
  ///
  /// All shards are written to temporary files first and renamed into place only once every
  /// shard is complete, then the index; an error while producing data leaves no new file.
  ///
  /// - Parameters:
  ///   - directory: an existing folder.
  ///   - tensors: the tensors, in model order (shards are packed in this order).
  ///   - metadata: `__metadata__` pairs for each shard, also copied into the index.
  ///   - maximumShardSize: the most data bytes per shard, or `nil` for a single file.
  ///   - data: returns each tensor's bytes; called shard by shard, in each shard's file order.
  /// - Returns: the paths written, shards first, then the index if any.
  @discardableResult
  public static func writeCheckpoint(
    directory: String, tensors: [SafeTensorsTensorDescription],
    metadata: [(key: String, value: String)] = [], maximumShardSize: Int? = nil,
    data: (SafeTensorsTensorDescription) throws -> TensorStorage
  ) throws -> [String] {
    var names = Set<String>()
    for tensor in tensors where !names.insert(tensor.name).inserted {
      throw SafeTensorsError(
        .invalidTensorName, ErrorLocation(file: directory, tensor: tensor.name),
        detail: "two tensors have this name")
    }
    let plan = SafeTensorsShardPlan(
      tensors: tensors, maximumShardSize: maximumShardSize ?? Int.max)
    var writers: [SafeTensorsWriter] = []
    do {
      for shard in plan.shards {
        writers.append(
          try SafeTensorsWriter(
            destination: FileSystem.join(directory, shard.fileName), tensors: shard.tensors,
            metadata: metadata))
      }
      for writer in writers {
        for tensor in writer.layout.tensors {
          try writer.write(try data(tensor), forTensor: tensor.name)
        }
      }
      var index: AtomicFileWriter?
      if plan.isSharded {
        let file = try AtomicFileWriter(
          destination: FileSystem.join(directory, SafeTensorsCheckpoint.indexFileName))
        try file.write(Array(indexJSON(plan: plan, metadata: metadata).utf8))
        index = file
      }
      for writer in writers { try writer.commit() }
      try index?.commit()
      return writers.map(\.destination) + (index.map { [$0.destination] } ?? [])
    } catch {
      for writer in writers { writer.abort() }
      throw error
    }
  }

  /// The index document for `plan`, ending with a newline.
  static func indexJSON(plan: SafeTensorsShardPlan, metadata: [(key: String, value: String)])
    -> String
  {
    var entries: [(tensor: String, shard: String)] = []
    for shard in plan.shards {
      for tensor in shard.tensors { entries.append((tensor.name, shard.fileName)) }
    }
    entries.sort { $0.tensor.utf8.lexicographicallyPrecedes($1.tensor.utf8) }
    let metadataMembers =
      [JSONMember("total_size", .integer(Int64(plan.totalByteCount)))]
      + metadata.filter { $0.key != "total_size" }.map { JSONMember($0.key, .string($0.value)) }
    let document = JSONValue.object([
      JSONMember("metadata", .object(metadataMembers)),
      JSONMember("weight_map", .object(entries.map { JSONMember($0.tensor, .string($0.shard)) })),
    ])
    return document.prettySerialized() + "\n"
  }
}
