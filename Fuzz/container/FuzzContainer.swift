import EMoECore
import EMoEFormats

/// libFuzzer entry point for the `.emoe` reader: the header, checksum and manifest checks of
/// opening a container, the integrity checks of `verify` and `inspect --check` (every tensor's
/// checksum, decompression and raw checksum, the padding), loading every layer tensor as `run`
/// does, and `inspect`'s summary.
///
/// A random change to the manifest almost always breaks the header checksum, which would stop
/// every mutation at one comparison; so when the input has a container's magic and a header
/// whose ranges lie inside it, the file size and header checksum fields are rewritten to match
/// before the reader sees the bytes, and the manifest decoder, schema checks and data checks are
/// what get fuzzed. (The checksum comparison itself is covered by the unit tests.)
///
/// Any thrown error is an accepted outcome; a crash, trap, hang, leak or allocation above the
/// fuzzer's limit is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzContainer(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  var bytes = Array(UnsafeRawBufferPointer(start: data, count: size))
  sealHeader(&bytes)
  let path = bytes.withUnsafeBytes { FuzzInput.write($0, name: "model.emoe") }
  do {
    let report = try ContainerIntegrity.verify(path: path)
    _ = report.text.utf8.count
    _ = report.json.serialized().utf8.count
    let container = try ContainerFile(path: path)
    for layer in container.layers {
      for role in layer.tensors.keys {
        do {
          _ = try container.tensor(role, of: layer)?.byteCount
        } catch {
          _ = error.description
        }
      }
    }
    let inspection = try Inspection.report(path: path, verifyChecksums: true)
    _ = inspection.text.utf8.count
    _ = inspection.json.serialized().utf8.count
  } catch {
    _ = String(describing: error)
  }
  return 0
}

/// Sets the file-size field to the real size and the checksum field to the checksum of the
/// bytes, when the magic is right and the manifest range the header declares lies in the file.
private func sealHeader(_ bytes: inout [UInt8]) {
  let headerSize = ContainerFormat.headerSize
  guard bytes.count >= headerSize, Array(bytes[0..<8]) == ContainerFormat.magic else { return }
  func field(_ offset: Int) -> UInt64 {
    bytes.withUnsafeBytes {
      UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
  }
  func setField(_ offset: Int, _ value: UInt64) {
    withUnsafeBytes(of: value.littleEndian) {
      bytes.replaceSubrange(offset..<(offset + 8), with: $0)
    }
  }
  setField(40, UInt64(bytes.count))
  let manifestOffset = field(16)
  let manifestLength = field(24)
  guard manifestOffset >= UInt64(headerSize), manifestOffset <= UInt64(bytes.count),
    manifestLength <= UInt64(bytes.count) - manifestOffset
  else { return }
  let start = Int(manifestOffset)
  let end = start + Int(manifestLength)
  let checksum = bytes.withUnsafeBytes { raw in
    ContainerHeader.checksum(
      header: UnsafeRawBufferPointer(rebasing: raw[0..<headerSize]),
      manifestRegion: UnsafeRawBufferPointer(rebasing: raw[start..<end]))
  }
  setField(48, checksum)
}
