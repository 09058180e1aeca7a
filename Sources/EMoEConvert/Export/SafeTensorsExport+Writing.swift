import EMoECore
import EMoEFormats

extension SafeTensorsExport {
  /// Writes `outputs` as a safetensors checkpoint in `directory` (sharded past
  /// `maximumShardSize`) and returns the files written.
  ///
  /// Shared by ``write(to:progress:)`` and ``HuggingFaceExport``: both plan their tensors as
  /// ``Output``s and differ only in the folder's other files. `progress` gets the data bytes
  /// written so far and their total after each tensor.
  ///
  /// - Throws: ``ConversionError``: the first error of a tensor's bytes, or `exporting` (naming
  ///   `container`) when writing fails.
  static func writeTensors(
    _ outputs: [Output], into directory: String, metadata: [(key: String, value: String)],
    maximumShardSize: Int, container: ContainerFile,
    progress: ((_ written: Int, _ total: Int) -> Void)?
  ) throws(ConversionError) -> [String] {
    let total = outputs.reduce(0) { $0 + ($1.description.byteCount ?? 0) }
    var written = 0
    var byName: [String: Output] = [:]
    for output in outputs { byName[output.description.name] = output }
    do {
      return try SafeTensorsWriter.writeCheckpoint(
        directory: directory, tensors: outputs.map(\.description), metadata: metadata,
        maximumShardSize: maximumShardSize
      ) { description in
        guard let output = byName[description.name] else { return .owned([]) }
        let outcome = Result { () throws(ConversionError) in try output.bytes() }
        let bytes = try outcome.get()
        written += description.byteCount ?? 0
        progress?(written, total)
        return bytes
      }
    } catch {
      throw .exporting(error, container: container.path)
    }
  }
}
