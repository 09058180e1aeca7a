import ArgumentParser
import EMoEConvert
import EMoECore

/// `--down-type`: the element type of a GGUF export's `ffn_down_exps`, spelled in lower case
/// (`q5_1`, `f16`, …).
struct DownTypeArgument: ExpressibleByArgument {
  /// The chosen type.
  var dtype: DType

  init?(argument: String) {
    guard let dtype = GGUFExport.downTypes.first(where: { $0.rawValue.lowercased() == argument })
    else { return nil }
    self.dtype = dtype
  }

  static var allValueStrings: [String] { GGUFExport.downTypes.map { $0.rawValue.lowercased() } }
}
