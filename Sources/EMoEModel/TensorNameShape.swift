import EMoECore
import EMoEFormats

/// One family of tensor names with the layer number abstracted, as listed when a model's FFN
/// cannot be found: `encoder.layer.{L}.intermediate.dense.weight  [1536, 384] F32 ×6`.
public struct TensorNameShape: Sendable, Hashable {
  /// The name with every all-digit dot-separated component replaced by `{L}`.
  public var template: String
  /// The distinct shapes seen under this template, in file order.
  public var shapes: [Shape]
  /// The distinct element types seen, in file order.
  public var dtypes: [DType]
  /// How many tensors share the template.
  public var count: Int

  /// Creates an entry.
  public init(template: String, shapes: [Shape], dtypes: [DType], count: Int) {
    self.template = template
    self.shapes = shapes
    self.dtypes = dtypes
    self.count = count
  }

  /// Shapes, types and count, such as `[1536, 384] F32 ×6`.
  public var summary: String {
    let shapeText = shapes.map(\.description).joined(separator: " | ")
    let typeText = dtypes.map(\.rawValue).joined(separator: "/")
    return count > 1 ? "\(shapeText) \(typeText) ×\(count)" : "\(shapeText) \(typeText)"
  }

  /// `name` with each dot-separated component made only of digits replaced by `{L}`.
  public static func template(of name: String) -> String {
    name.split(separator: ".", omittingEmptySubsequences: false).map { component in
      !component.isEmpty && component.allSatisfy(\.isASCII) && component.allSatisfy(\.isNumber)
        ? "{L}" : String(component)
    }.joined(separator: ".")
  }

  /// The deduplicated templates of `infos`, in order of first appearance.
  public static func summarize(_ infos: [TensorInfo]) -> [TensorNameShape] {
    var order: [String] = []
    var entries: [String: TensorNameShape] = [:]
    for info in infos {
      let key = template(of: info.name)
      if var entry = entries[key] {
        if !entry.shapes.contains(info.shape) { entry.shapes.append(info.shape) }
        if !entry.dtypes.contains(info.dtype) { entry.dtypes.append(info.dtype) }
        entry.count += 1
        entries[key] = entry
      } else {
        order.append(key)
        entries[key] = TensorNameShape(
          template: key, shapes: [info.shape], dtypes: [info.dtype], count: 1)
      }
    }
    return order.compactMap { entries[$0] }
  }

  /// A best-effort `--ffn-pattern` guess: per-layer matrix pairs `[n, d]` and `[d, n]` with
  /// n > d whose names look like an FFN, or `nil` when nothing plausible is found.
  static func suggestion(_ names: [TensorNameShape]) -> String? {
    let layered = names.filter { $0.template.contains("{L}") && $0.shapes.count == 1 }
    let matrices = layered.filter { $0.shapes[0].rank == 2 }
    let words = ["mlp", "ffn", "feed_forward", "intermediate", "fc", "dense", "proj"]
    func looksLikeFFN(_ entry: TensorNameShape) -> Bool {
      let lower = entry.template.lowercased()
      return words.contains { lower.contains($0) }
    }
    for first in matrices where looksLikeFFN(first) {
      let n = first.shapes[0][0]
      let d = first.shapes[0][1]
      guard n > d else { continue }
      guard
        let second = matrices.first(where: {
          $0.template != first.template && $0.shapes[0] == [d, n] && looksLikeFFN($0)
        })
      else { continue }
      let companions = matrices.filter {
        $0.template != first.template && $0.shapes[0] == [n, d] && looksLikeFFN($0)
      }
      if let up = companions.first {
        return "gate=\(first.template),up=\(up.template),down=\(second.template)"
      }
      var parts = ["w1=\(first.template)"]
      let firstBias = layered.first {
        $0.shapes[0] == [n] && looksLikeFFN($0)
          && $0.template.hasPrefix(String(first.template.dropLast("weight".count)))
      }
      if let firstBias { parts.append("b1=\(firstBias.template)") }
      parts.append("w2=\(second.template)")
      let secondBias = layered.first {
        $0.shapes[0] == [d]
          && $0.template.hasPrefix(String(second.template.dropLast("weight".count)))
      }
      if let secondBias { parts.append("b2=\(secondBias.template)") }
      return parts.joined(separator: ",")
    }
    return nil
  }
}
