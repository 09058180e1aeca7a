import EMoECore

extension ContainerFile {
  /// Checks every tensor's stored bytes against its checksum and, for compressed tensors,
  /// decompresses them and checks the raw checksum; one result per tensor, in file order.
  ///
  /// Reads the file sequentially and lets the kernel drop each tensor's pages afterwards, and
  /// decompresses in 1 MiB pieces, so resident memory stays small for large models and for
  /// frames that inflate a thousandfold.
  public func verifyChecksums() -> [VerificationCheck] {
    file.adviseSequential(offset: header.dataOffset)
    return entries.map { entry in
      let name = "tensor:" + entry.name
      defer { file.adviseDone(offset: entry.offset, count: entry.storedLength) }
      let digest = XXH64.hash(storedBytes(of: entry))
      guard digest == entry.checksum else {
        return .failed(
          .integrity, name,
          detail: "checksum mismatch at byte \(entry.offset): stored \(XXH64.hex(entry.checksum)), "
            + "computed \(XXH64.hex(digest))")
      }
      if entry.isCompressed {
        do throws(ContainerError) {
          try checkDecompressed(entry)
        } catch {
          return .failed(.integrity, name, detail: error.detail)
        }
      }
      return .passed(.integrity, name)
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

  /// The padding check, named `padding`.
  public func verifyPadding() -> VerificationCheck {
    guard let offset = firstNonzeroPaddingByte() else {
      return .passed(.integrity, "padding")
    }
    return .failed(.integrity, "padding", detail: "padding byte \(offset) is not zero")
  }

  private func firstNonzero(from start: Int, to end: Int) -> Int? {
    guard end > start else { return nil }
    let bytes = file.bytes(offset: start, count: end - start)
    return bytes.firstIndex { $0 != 0 }.map { start + $0 }
  }
}
