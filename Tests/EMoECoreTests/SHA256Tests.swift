import EMoECore
import EMoETestSupport
import Foundation
import Testing

@Suite("SHA-256")
struct SHA256Tests {
  @Test(
    "FIPS 180-4 test vectors",
    arguments: [
      ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
      ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
      (
        "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
      ),
    ])
  func vectors(input: String, digest: String) {
    #expect(Array(input.utf8).withUnsafeBytes { SHA256.hex(of: $0) } == digest)
  }

  @Test(
    "incremental updates in odd pieces equal Python's hashlib on a 1 MB file",
    .enabled(if: Oracles.python(["hashlib"])))
  func incrementalMatchesHashlib() throws {
    var bytes = [UInt8](repeating: 0, count: 1 << 20)
    var state: UInt32 = 12345
    for index in bytes.indices {
      state = state &* 1_103_515_245 &+ 12345
      bytes[index] = UInt8(truncatingIfNeeded: state >> 16)
    }
    var hash = SHA256()
    var offset = 0
    var piece = 1
    while offset < bytes.count {
      let count = min(piece, bytes.count - offset)
      bytes[offset..<offset + count].withUnsafeBytes { hash.update($0) }
      offset += count
      piece = piece * 3 + 7
    }
    let ours = hash.finalizeHex()
    #expect(ours == bytes.withUnsafeBytes { SHA256.hex(of: $0) })
    try PythonOracle.require(["hashlib"])
    let directory = try TemporaryDirectory()
    let path = directory.file("data.bin")
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    #expect(try FileSystem.sha256(ofFile: path) == ours)
    let python = try PythonOracle.check(
      "import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest())",
      arguments: [path])
    #expect(python.trimmingCharacters(in: .whitespacesAndNewlines) == ours)
  }
}
