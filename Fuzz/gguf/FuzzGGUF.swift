import EMoECore
import EMoEFormats

/// libFuzzer entry point for the GGUF reader: open, map and validate the bytes as a file, read
/// every tensor's description and metadata value, and render `inspect`'s summary.
///
/// Any thrown error is an accepted outcome; a crash, trap, hang, leak or allocation above the
/// fuzzer's limit is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGGUF(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let bytes = UnsafeRawBufferPointer(start: data, count: size)
  let path = FuzzInput.write(bytes, name: "model.gguf")
  do {
    let file = try GGUFFile(path: path)
    _ = file.tensorInfos.count
    for tensor in file.tensors { _ = file.tensor(tensor).byteCount }
  } catch {
    _ = String(describing: error)
  }
  // `inspect` picks its reader by magic; other magics belong to the other targets.
  guard size >= 4, Array(bytes[0..<4]) == Array("GGUF".utf8) else { return 0 }
  do {
    let report = try Inspection.report(path: path, verifyChecksums: false)
    _ = report.text.utf8.count
    _ = report.json.serialized().utf8.count
  } catch {
    _ = String(describing: error)
  }
  return 0
}
