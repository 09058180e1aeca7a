import EMoECore
import EMoEFormats

/// libFuzzer entry point for the safetensors reader: the header parser on the bytes in memory,
/// then `inspect`'s whole path (open, map, validate, summarise) on the same bytes as a file.
///
/// Any thrown error is an accepted outcome; a crash, trap, hang, leak or allocation above the
/// fuzzer's limit is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let bytes = UnsafeRawBufferPointer(start: data, count: size)
  do {
    let header = try SafeTensorsHeader(file: bytes, path: "fuzz.safetensors")
    _ = header.entries.count
  } catch {
    _ = error.description
  }
  let path = FuzzInput.write(bytes, name: "model.safetensors")
  do {
    let report = try Inspection.safetensors(path: path)
    _ = report.text.utf8.count
    _ = report.json.serialized().utf8.count
  } catch {
    _ = String(describing: error)
  }
  return 0
}
