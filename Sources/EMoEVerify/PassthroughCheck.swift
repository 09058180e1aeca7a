import EMoECore
import EMoEFormats

/// Every tensor of the source is in the container: each passthrough tensor holds the source
/// tensor of the same name byte for byte (same type and shape), and each other source tensor
/// is the source of a converted layer's tensor.
enum PassthroughCheck {
  static func run(container: ContainerFile, source: any ModelSource) -> VerificationCheck {
    let name = "passthrough"
    var problems: [String] = []
    var bytes = 0
    for info in container.tensorInfos {
      guard let expected = source.tensorInfo(named: info.name) else {
        problems.append("'\(info.name)' is not in the source")
        continue
      }
      guard expected.dtype == info.dtype, expected.shape == info.shape else {
        problems.append(
          "'\(info.name)' is \(info.dtype.rawValue) \(info.shape), the source's "
            + "\(expected.dtype.rawValue) \(expected.shape)")
        continue
      }
      do {
        let stored = try container.storedTensor(named: info.name)
        let original = try source.tensor(named: info.name)
        let same = stored.withUnsafeBytes { a in
          original.withUnsafeBytes { b in
            a.count == b.count
              && (a.count == 0 || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0)
          }
        }
        bytes += stored.byteCount
        if !same { problems.append("'\(info.name)' differs from the source's bytes") }
      } catch {
        problems.append("\(error)")
      }
    }
    var accounted = Set(container.tensorInfos.map(\.name))
    for record in container.layers {
      for name in record.tensors.values {
        if let origin = container.entry(named: name)?.declaration.source?.name {
          accounted.insert(origin)
        }
      }
    }
    let missing = source.tensorInfos.map(\.name).filter { !accounted.contains($0) }
    if !missing.isEmpty {
      problems.append(
        "\(missing.count) source tensors are not in the container (\(missing.prefix(3).joined(separator: ", ")))"
      )
    }
    let measures = [
      JSONMember("tensors", .integer(Int64(container.tensorInfos.count))),
      JSONMember("bytes", .integer(Int64(bytes))),
    ]
    guard problems.isEmpty else {
      return .failed(
        .permutation, name,
        detail: problems.prefix(3).joined(separator: "; ")
          + (problems.count > 3 ? " (\(problems.count) problems)" : ""), measures: measures)
    }
    return .passed(
      .permutation, name,
      detail: "\(container.tensorInfos.count) tensors equal the source bit for bit "
        + "(\(bytes) bytes); every source tensor is accounted for", measures: measures)
  }
}
