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
  ///
  /// Names and metadata come from the file, so the text has every control character but its
  /// own line breaks escaped (names and values escape theirs too), and no file can move the
  /// cursor, clear the screen or retitle the terminal. The JSON escapes them by its grammar.
  public static func report(path: String, verifyChecksums: Bool) throws -> Inspection {
    var inspection: Inspection
    switch try FileKind.detect(path: path) {
    case .safetensors, .safetensorsIndex:
      inspection = try safetensors(path: path)
    case .gguf:
      inspection = try gguf(path: path)
    case .emoe:
      inspection = try ContainerInspection.report(path: path, verifyChecksums: verifyChecksums)
    }
    inspection.text = inspection.text.escapingControlCharacters(keepingNewlines: true)
    return inspection
  }
}

/// A file kind whose inspection is not built yet.
struct InspectionUnavailable: Error, CustomStringConvertible {
  var kind: String
  var description: String { "inspecting \(kind) files is not supported yet" }
}
