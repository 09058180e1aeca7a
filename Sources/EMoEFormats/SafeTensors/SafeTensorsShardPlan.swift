import EMoECore

/// How a checkpoint's tensors are split into shards under a maximum shard size, following
/// huggingface_hub: tensors are packed greedily in the order given, a new shard starts when the
/// next tensor would push the current one past the maximum, and a tensor larger than the maximum
/// gets a shard of its own.
///
/// Shards are named `model-00001-of-00003.safetensors` (1-based, five digits); a checkpoint that
/// fits in one shard is a plain `model.safetensors` with no index, as huggingface_hub writes it.
/// Sizes count tensor data bytes only, like the index's `total_size`.
public struct SafeTensorsShardPlan: Sendable {
  /// One planned shard.
  public struct Shard: Sendable {
    /// The shard's file name.
    public var fileName: String
    /// Its tensors, in the order given to the plan.
    public var tensors: [SafeTensorsTensorDescription]
    /// The sum of its tensors' data bytes.
    public var byteCount: Int
  }

  /// The shards in order.
  public let shards: [Shard]

  /// Whether an index file is written (more than one shard).
  public var isSharded: Bool { shards.count > 1 }

  /// The sum of every tensor's data bytes.
  public var totalByteCount: Int { shards.reduce(0) { $0 + $1.byteCount } }

  /// Plans shards of at most `maximumShardSize` data bytes (a larger tensor stands alone; a
  /// maximum below 1 counts as 1, giving every non-empty tensor its own shard).
  ///
  /// Tensors whose size cannot be computed count as empty here; the writer refuses them.
  public init(tensors: [SafeTensorsTensorDescription], maximumShardSize: Int) {
    let maximumShardSize = max(1, maximumShardSize)
    var groups: [(tensors: [SafeTensorsTensorDescription], bytes: Int)] = []
    for tensor in tensors {
      let size = tensor.byteCount ?? 0
      if let last = groups.last, !last.tensors.isEmpty,
        last.bytes > maximumShardSize - size
      {
        groups.append(([tensor], size))
      } else if groups.isEmpty {
        groups.append(([tensor], size))
      } else {
        groups[groups.count - 1].tensors.append(tensor)
        groups[groups.count - 1].bytes += size
      }
    }
    if groups.isEmpty { groups = [([], 0)] }
    let count = groups.count
    shards = groups.enumerated().map { index, group in
      Shard(
        fileName: count == 1
          ? SafeTensorsCheckpoint.singleFileName : Self.shardName(index + 1, of: count),
        tensors: group.tensors, byteCount: group.bytes)
    }
  }

  /// `model-0000i-of-0000n.safetensors`.
  public static func shardName(_ number: Int, of count: Int) -> String {
    func padded(_ value: Int) -> String {
      let digits = String(value)
      return String(repeating: "0", count: max(0, 5 - digits.count)) + digits
    }
    return "model-\(padded(number))-of-\(padded(count)).safetensors"
  }
}
