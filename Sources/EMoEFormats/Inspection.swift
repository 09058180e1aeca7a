import EMoECore

/// What `emoe-pack inspect` shows of a file: a table for people and a JSON document.
public struct Inspection: Sendable {
  /// The human-readable summary, ending with a newline.
  public var text: String
  /// The same facts as one JSON document.
  public var json: JSONValue
  /// False when a requested check (such as checksums) failed.
  public var checksOK: Bool

  /// Creates an inspection result.
  public init(text: String, json: JSONValue, checksOK: Bool = true) {
    self.text = text
    self.json = json
    self.checksOK = checksOK
  }

  /// Inspects the file at `path`, whatever its kind.
  public static func report(path: String, verifyChecksums: Bool) throws -> Inspection {
    switch try FileKind.detect(path: path) {
    case .safetensors, .safetensorsIndex:
      return try safetensors(path: path)
    case .gguf:
      return try gguf(path: path)
    case .emoe:
      return try ContainerInspection.report(path: path, verifyChecksums: verifyChecksums)
    }
  }
}

/// A file kind whose inspection is not built yet.
struct InspectionUnavailable: Error, CustomStringConvertible {
  var kind: String
  var description: String { "inspecting \(kind) files is not supported yet" }
}
