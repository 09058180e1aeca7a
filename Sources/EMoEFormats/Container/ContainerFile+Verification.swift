import EMoECore

/// The outcome of one integrity check of a container.
public struct ContainerCheck: Sendable, Equatable {
  /// The check's name: `header`, `tensor:<name>` or `padding`.
  public var name: String
  /// Whether it passed.
  public var ok: Bool
  /// Why it failed (empty when it passed).
  public var detail: String

  /// Creates a check result.
  public init(name: String, ok: Bool, detail: String = "") {
    self.name = name
    self.ok = ok
    self.detail = detail
  }
}

extension ContainerFile {
  /// Checks every tensor's stored bytes against its checksum and, for compressed tensors,
  /// decompresses them and checks the raw checksum; one result per tensor, in file order.
  ///
  /// Reads the file sequentially and lets the kernel drop each tensor's pages afterwards, and
  /// decompresses in 1 MiB pieces, so resident memory stays small for large models and for
  /// frames that inflate a thousandfold.
  public func verifyChecksums() -> [ContainerCheck] {
    file.adviseSequential(offset: header.dataOffset)
    return entries.map { entry in
      let name = "tensor:" + entry.name
      defer { file.adviseDone(offset: entry.offset, count: entry.storedLength) }
      let digest = XXH64.hash(storedBytes(of: entry))
      guard digest == entry.checksum else {
        return ContainerCheck(
          name: name, ok: false,
          detail: "checksum mismatch at byte \(entry.offset): stored \(XXH64.hex(entry.checksum)), "
            + "computed \(XXH64.hex(digest))")
      }
      if entry.isCompressed {
        do throws(ContainerError) {
          try checkDecompressed(entry)
        } catch {
          return ContainerCheck(name: name, ok: false, detail: error.detail)
        }
      }
      return ContainerCheck(name: name, ok: true)
    }
  }

  /// Checks that every byte of the data section outside the tensors (their alignment padding)
  /// is zero; returns the offset of the first non-zero byte, or `nil`.
  public func firstNonzeroPaddingByte() -> Int? {
    var position = header.dataOffset
    for entry in entries {
      if let bad = firstNonzero(from: position, to: entry.offset) { return bad }
      position = entry.end
    }
    return firstNonzero(from: position, to: header.fileSize)
  }

  /// The padding check as a ``ContainerCheck`` named `padding`.
  public func verifyPadding() -> ContainerCheck {
    guard let offset = firstNonzeroPaddingByte() else {
      return ContainerCheck(name: "padding", ok: true)
    }
    return ContainerCheck(
      name: "padding", ok: false, detail: "padding byte \(offset) is not zero")
  }

  private func firstNonzero(from start: Int, to end: Int) -> Int? {
    guard end > start else { return nil }
    let bytes = file.bytes(offset: start, count: end - start)
    return bytes.firstIndex { $0 != 0 }.map { start + $0 }
  }
}
