import EMoECore
import EMoEFormats
import EMoENumerics

/// NaN and infinity where numbers are needed: the `finite` checks of `verify` and the guards
/// of `run`.
///
/// A container that passes its checksums can still hold NaN: a gate row of NaN scores every
/// expert NaN, so a top-k routing picks experts 0...k-1 for every token and the sparse and
/// masked paths agree perfectly on nonsense. Every stored tensor is therefore scanned (plain
/// floats on their bit patterns, GGUF blocks decoded a few rows at a time; int8 codes are
/// integers and their F32 scales are scanned), and inputs and outputs are checked before they
/// are compared or written. Each finding names the tensor, its layer, the first bad element with
/// its index, and its byte offset in the file when it is stored uncompressed.
enum FiniteCheck {
  /// One failed check per stored tensor that holds NaN or infinity (or cannot be decoded), or
  /// one passed check covering them all.
  static func run(_ container: ContainerFile) -> [VerificationCheck] {
    var failures: [VerificationCheck] = []
    var scanned = 0
    for entry in container.entries {
      let layer = Self.layer(of: entry.name, in: container)
      let what = describe(entry.name, in: container)
      do {
        let tensor = try container.tensor(for: entry)
        guard !tensor.dtype.isQuantized || Dequantizer.supports(tensor.dtype) else { continue }
        if tensor.dtype.isFloatingPoint || tensor.dtype.isQuantized { scanned += 1 }
        if let value = try NonFiniteValue.first(in: tensor) {
          failures.append(
            .failed(
              .finite, "tensor:\(entry.name)", layer: layer,
              detail: "\(what) holds \(value)" + (value.byteOffset.map { " (byte \($0))" } ?? ""),
              measures: measures(value)))
        }
      } catch {
        failures.append(
          .failed(
            .finite, "tensor:\(entry.name)", layer: layer,
            detail: "\(what) cannot be decoded to check its values: \(error)"))
      }
    }
    guard failures.isEmpty else { return failures }
    return [
      .passed(
        .finite, "stored tensors",
        detail: "\(scanned) floating-point tensors, no NaN or infinity")
    ]
  }

  /// Throws for the first stored tensor of `record`'s layer that holds NaN or infinity.
  static func require(_ container: ContainerFile, layer record: ContainerLayerRecord)
    throws(VerificationError)
  {
    for name in tensorNames(of: record, in: container) {
      guard let entry = container.entry(named: name) else { continue }
      let found: NonFiniteValue?
      do {
        let tensor = try container.tensor(for: entry)
        guard !tensor.dtype.isQuantized || Dequantizer.supports(tensor.dtype) else { continue }
        found = try NonFiniteValue.first(in: tensor)
      } catch {
        throw VerificationError(reading: container.path, error)
      }
      if let found {
        throw VerificationError(
          nonFinite: found, file: container.path, what: describe(name, in: container))
      }
    }
  }

  /// Throws when `values`, a `[rows, columns]` tensor named `name` read from or written for
  /// `file`, hold NaN or infinity.
  static func require(
    _ values: [Float], tensor name: String, shape: Shape, file: String, what: String
  ) throws(VerificationError) {
    if let found = NonFiniteValue.first(in: values, tensor: name, shape: shape) {
      throw VerificationError(nonFinite: found, file: file, what: what)
    }
  }

  /// A failed check named `name` when one of `outputs` (`[tokens, width]` each) holds NaN or
  /// infinity, else `nil`: comparisons of non-finite outputs prove nothing, so they are not
  /// reported as a tolerance failure but as what they are.
  static func outputs(
    _ outputs: [(what: String, values: [Float])], tokens: Int, width: Int, name: String,
    layer: Int?
  ) -> VerificationCheck? {
    for (what, values) in outputs {
      guard let bad = NonFiniteValue.first(in: values, tensor: what, shape: [tokens, width])
      else { continue }
      return .failed(
        .finite, name, layer: layer,
        detail: "\(what) holds \(bad.valueText) at token \(bad.index[0]), column "
          + "\(bad.index[1]) from finite weights and inputs",
        measures: measures(bad))
    }
    return nil
  }

  /// The stored tensors of a converted layer: its roles and the int8 scales they use.
  static func tensorNames(of record: ContainerLayerRecord, in container: ContainerFile)
    -> [String]
  {
    var names: [String] = []
    for name in record.tensors.values.sorted() {
      names.append(name)
      if let entry = container.entry(named: name),
        case .int8Rows(let scales) = entry.declaration.encoding
      {
        names.append(scales)
      }
    }
    return names
  }

  /// The converted layer a stored tensor belongs to, or `nil` for a passthrough tensor.
  static func layer(of name: String, in container: ContainerFile) -> Int? {
    container.layers.first { tensorNames(of: $0, in: container).contains(name) }?.layer
  }

  /// `layer 1 router`, `layer 1 w1 scales` or `passthrough tensor`, for messages.
  static func describe(_ name: String, in container: ContainerFile) -> String {
    for record in container.layers {
      for (role, roleName) in record.tensors {
        if roleName == name { return "layer \(record.layer) \(role.rawValue)" }
        if let entry = container.entry(named: roleName),
          case .int8Rows(let scales) = entry.declaration.encoding, scales == name
        {
          return "layer \(record.layer) \(role.rawValue) scales"
        }
      }
    }
    return "passthrough tensor"
  }

  /// The finding as JSON members.
  static func measures(_ value: NonFiniteValue) -> [JSONMember] {
    var members = [
      JSONMember("value", .string(value.valueText)),
      JSONMember("element", .integer(Int64(value.element))),
      JSONMember("index", .array(value.index.map { .integer(Int64($0)) })),
    ]
    if let offset = value.byteOffset {
      members.append(JSONMember("byte_offset", .integer(Int64(offset))))
    }
    return members
  }
}
