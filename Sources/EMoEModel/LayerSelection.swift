/// Which layers to convert, as given by `--layers`.
///
/// Syntax: comma-separated items, each one of `all`; a layer `10`; an inclusive range `4-7`;
/// `last:N` (the last N layers); `from:A` (A to the end); `from:A/every:S` (A, A+S, ... to the
/// end); `every:S` (0, S, 2S, ...). Example: `0,4-7,from:16/every:2`.
public struct LayerSelection: Sendable, Hashable, CustomStringConvertible {
  /// One item of a selection.
  public enum Item: Sendable, Hashable {
    /// Every layer.
    case all
    /// Layers `lower...upper`.
    case range(Int, Int)
    /// The last `count` layers.
    case last(Int)
    /// `start`, `start + step`, ... up to the last layer.
    case stride(from: Int, every: Int)
  }

  /// The items, in the order given.
  public var items: [Item]

  /// Creates a selection from items.
  public init(_ items: [Item]) { self.items = items }

  /// Every layer.
  public static let all = LayerSelection([.all])

  /// Parses the `--layers` syntax (see the type's summary).
  ///
  /// - Throws: ``ModelError/invalidLayerSpec(spec:reason:)``.
  public static func parse(_ spec: String) throws(ModelError) -> LayerSelection {
    var items: [Item] = []
    for rawItem in spec.split(separator: ",", omittingEmptySubsequences: false) {
      let item = rawItem.trimmedSpaces.lowercased()
      guard !item.isEmpty else { throw .invalidLayerSpec(spec: spec, reason: "an item is empty") }
      items.append(try parseItem(item, spec: spec))
    }
    return LayerSelection(items)
  }

  private static func parseItem(_ item: String, spec: String) throws(ModelError) -> Item {
    func number(_ text: Substring, _ what: String) throws(ModelError) -> Int {
      let trimmed = text.trimmedSpaces
      guard !trimmed.isEmpty, trimmed.count <= 9, trimmed.allSatisfy({ $0.isASCII && $0.isNumber }),
        let value = Int(trimmed)
      else {
        throw .invalidLayerSpec(spec: spec, reason: "\(what) '\(trimmed)' is not a layer number")
      }
      return value
    }
    if item == "all" { return .all }
    if item.hasPrefix("last:") {
      let count = try number(item.dropFirst("last:".count), "count")
      guard count > 0 else { throw .invalidLayerSpec(spec: spec, reason: "last:0 selects nothing") }
      return .last(count)
    }
    if item.hasPrefix("from:") || item.hasPrefix("every:") {
      var start = 0
      var step = 1
      for part in item.split(separator: "/", omittingEmptySubsequences: false) {
        if part.hasPrefix("from:") {
          start = try number(part.dropFirst("from:".count), "start")
        } else if part.hasPrefix("every:") {
          step = try number(part.dropFirst("every:".count), "step")
          guard step > 0 else {
            throw .invalidLayerSpec(spec: spec, reason: "every:0 is not a step")
          }
        } else {
          throw .invalidLayerSpec(spec: spec, reason: "'\(part)' is neither from:N nor every:N")
        }
      }
      return .stride(from: start, every: step)
    }
    if let dash = item.firstIndex(of: "-") {
      let lower = try number(item[..<dash], "range start")
      let upper = try number(item[item.index(after: dash)...], "range end")
      guard lower <= upper else {
        throw .invalidLayerSpec(spec: spec, reason: "range \(lower)-\(upper) runs backwards")
      }
      return .range(lower, upper)
    }
    let layer = try number(Substring(item), "layer")
    return .range(layer, layer)
  }

  /// The selected layer indices for a model with `layerCount` layers, ascending and unique.
  ///
  /// - Throws: ``ModelError/selectionOutOfRange(item:layerCount:)``, naming the item as given,
  ///   when an explicit layer or range end is past the last layer, or a `from:` start is;
  ///   `last:N` with N above the layer count is also an error.
  public func resolve(layerCount: Int) throws(ModelError) -> [Int] {
    var selected = Set<Int>()
    for item in items {
      switch item {
      case .all:
        selected.formUnion(0..<layerCount)
      case .range(let lower, let upper):
        guard upper < layerCount else {
          throw .selectionOutOfRange(item: item, layerCount: layerCount)
        }
        selected.formUnion(lower...upper)
      case .last(let count):
        guard count <= layerCount else {
          throw .selectionOutOfRange(item: item, layerCount: layerCount)
        }
        selected.formUnion((layerCount - count)..<layerCount)
      case .stride(let start, let step):
        guard start < layerCount else {
          throw .selectionOutOfRange(item: item, layerCount: layerCount)
        }
        selected.formUnion(Swift.stride(from: start, to: layerCount, by: step))
      }
    }
    return selected.sorted()
  }

  /// The selection in `--layers` syntax.
  public var description: String {
    items.map { item in
      switch item {
      case .all: "all"
      case .range(let lower, let upper): lower == upper ? "\(lower)" : "\(lower)-\(upper)"
      case .last(let count): "last:\(count)"
      case .stride(let start, let step): step == 1 ? "from:\(start)" : "from:\(start)/every:\(step)"
      }
    }.joined(separator: ",")
  }
}
