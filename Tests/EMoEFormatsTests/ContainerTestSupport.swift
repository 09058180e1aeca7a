import EMoECore
import EMoEFormats
import EMoETestSupport
import Foundation

/// A small container holding every storage type: passthrough tensors of several dtypes, one
/// plain FFN layer (F32 W1, F16 b1, int8-row W2 with scales) and one GLU layer with uneven
/// experts (Q8_0, BF16 and F16 matrices), written from deterministic data.
struct SampleContainer {
  /// The plan handed to the writer.
  var plan: ContainerPlan
  /// The bytes appended for each tensor (decompressed form), by name.
  var payloads: [String: [UInt8]]

  /// The sample with `compression` applied to every tensor (or to every other one when
  /// `alternate` is true).
  static func make(compression: ContainerCompression = .none, alternate: Bool = false)
    -> SampleContainer
  {
    var declarations: [ContainerTensorDeclaration] = []
    var payloads: [String: [UInt8]] = [:]
    var seed: UInt64 = 0x1234_5678
    func randomBytes(_ count: Int) -> [UInt8] {
      (0..<count).map { _ in
        seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return UInt8(truncatingIfNeeded: seed >> 33)
      }
    }
    func floats(_ count: Int) -> [UInt8] {
      let values = (0..<count).map { _ in Float(Int(randomBytes(1)[0]) - 128) / 37 }
      return values.withUnsafeBytes { Array($0) }
    }
    func add(
      _ name: String, _ dtype: DType, _ shape: Shape, encoding: ContainerEncoding = .plain,
      source: ContainerTensorSource? = nil, bytes: [UInt8]? = nil
    ) {
      let index = declarations.count
      let tensorCompression = alternate && index % 2 == 1 ? ContainerCompression.none : compression
      let declaration = ContainerTensorDeclaration(
        name: name, dtype: dtype, shape: shape, encoding: encoding, compression: tensorCompression,
        source: source)
      declarations.append(declaration)
      payloads[name] =
        bytes
        ?? (dtype == .f32
          ? floats(shape.elementCount ?? 0) : randomBytes(declaration.rawLength ?? 0))
    }
    func passthrough(_ name: String, _ dtype: DType, _ shape: Shape) {
      add(
        name, dtype, shape,
        source: ContainerTensorSource(
          name: name, dtype: dtype, shape: shape, transposed: false, values: .exact))
    }
    // Passthrough tensors of many dtypes, including GGUF block types and F8.
    passthrough("embeddings.word_embeddings.weight", .f32, [8, 16])
    passthrough("embeddings.position_ids", .i64, [1, 8])
    passthrough("embeddings.LayerNorm.weight", .bf16, [16])
    passthrough("blk.0.attn_q.weight", .q4_1, [4, 32])
    passthrough("scale.f8", .f8E4M3, [5])
    passthrough("empty", .f32, [0, 4])
    // Layer 3: plain FFN, d = 16, n = 24, E = 4.
    let permutation3: [Int64] = (0..<24).map { Int64(($0 * 7) % 24) }
    add(
      "emoe.layers.3.permutation", .i64, [24],
      bytes: permutation3.withUnsafeBytes { Array($0) })
    add("emoe.layers.3.gate", .f32, [4, 16])
    add("emoe.layers.3.gate_bias", .f32, [4])
    add(
      "emoe.layers.3.w1", .f32, [24, 16],
      source: ContainerTensorSource(
        name: "encoder.layer.3.intermediate.dense.weight", dtype: .f32, shape: [24, 16],
        transposed: false, values: .exact))
    add(
      "emoe.layers.3.b1", .f16, [24],
      source: ContainerTensorSource(
        name: "encoder.layer.3.intermediate.dense.bias", dtype: .f32, shape: [24],
        transposed: false, values: .lossy))
    add(
      "emoe.layers.3.w2", .i8, [24, 16], encoding: .int8Rows(scales: "emoe.layers.3.w2.scale"),
      source: ContainerTensorSource(
        name: "encoder.layer.3.output.dense.weight", dtype: .f32, shape: [16, 24],
        transposed: true, values: .lossy))
    add("emoe.layers.3.w2.scale", .f32, [24])
    add(
      "emoe.layers.3.b2", .f32, [16],
      source: ContainerTensorSource(
        name: "encoder.layer.3.output.dense.bias", dtype: .f32, shape: [16], transposed: false,
        values: .exact))
    // Layer 7: GLU, d = 32, n = 10, E = 3 (sizes 4, 3, 3).
    let permutation7: [Int32] = [9, 0, 5, 2, 7, 1, 3, 8, 4, 6]
    add("emoe.layers.7.permutation", .i32, [10], bytes: permutation7.withUnsafeBytes { Array($0) })
    add("emoe.layers.7.gate", .f32, [3, 32])
    add(
      "emoe.layers.7.wg", .q8_0, [10, 32],
      source: ContainerTensorSource(
        name: "blk.7.ffn_gate.weight", dtype: .q8_0, shape: [10, 32], transposed: false,
        values: .exact))
    add(
      "emoe.layers.7.wu", .bf16, [10, 32],
      source: ContainerTensorSource(
        name: "blk.7.ffn_up.weight", dtype: .f32, shape: [10, 32], transposed: false, values: .lossy
      ))
    add(
      "emoe.layers.7.wd", .f16, [10, 32],
      source: ContainerTensorSource(
        name: "blk.7.ffn_down.weight", dtype: .q4_1, shape: [32, 10], transposed: true,
        values: .lossy))
    passthrough("output_norm.weight", .f32, [16])

    let layers = [
      ContainerLayerRecord(
        layer: 3, family: .plain, activation: "gelu", transposedSource: false, hiddenSize: 16,
        intermediateSize: 24, expertCount: 4, expertSizes: [6, 6, 6, 6], topK: 2,
        clustering: .init(
          method: "balanced_kmeans", keys: .w1, seed: 0, restarts: 3, iterations: 0, sse: 0),
        tensors: [
          .permutation: "emoe.layers.3.permutation", .router: "emoe.layers.3.gate",
          .routerBias: "emoe.layers.3.gate_bias", .w1: "emoe.layers.3.w1", .b1: "emoe.layers.3.b1",
          .w2: "emoe.layers.3.w2", .b2: "emoe.layers.3.b2",
        ]),
      ContainerLayerRecord(
        layer: 7, family: .glu, activation: "silu", transposedSource: false, hiddenSize: 32,
        intermediateSize: 10, expertCount: 3, expertSizes: [4, 3, 3], topK: 1,
        clustering: .init(
          method: "balanced_kmeans", keys: .gate, seed: 42, restarts: 1, iterations: 0, sse: 0),
        tensors: [
          .permutation: "emoe.layers.7.permutation", .router: "emoe.layers.7.gate",
          .wg: "emoe.layers.7.wg", .wu: "emoe.layers.7.wu", .wd: "emoe.layers.7.wd",
        ]),
    ]
    let source = ContainerSourceDescription(
      format: "safetensors",
      files: [
        ContainerSourceFile(
          name: "model.safetensors", size: 123_456, sha256: String(repeating: "ab", count: 32))
      ],
      metadata: .safetensors([("format", "pt"), ("note", "quotes \" and \\ and\nnewline")]),
      config: try? JSONValue.parse(
        #"{"model_type":"bert","hidden_size":16,"layer_norm_eps":1e-12}"#))
    let options = try? JSONValue.parse(#"{"experts":4,"top_k":2,"seed":0,"compress":null}"#)
    let plan = ContainerPlan(
      tool: ContainerTool(name: "emoe-pack", version: "0.1.0"), options: options ?? .object([]),
      source: source, layers: layers, tensors: declarations)
    return SampleContainer(plan: plan, payloads: payloads)
  }

  /// Writes the sample to `path`, setting both layers' clustering results.
  @discardableResult
  func write(to path: String) throws -> ContainerManifest {
    let writer = try ContainerWriter(path: path, plan: plan)
    for declaration in plan.tensors {
      let bytes = payloads[declaration.name] ?? []
      try bytes.withUnsafeBytes { raw in try writer.append(declaration.name, bytes: raw) }
    }
    try writer.setClusteringResult(layer: 3, iterations: 17, sse: 12.625)
    try writer.setClusteringResult(layer: 7, iterations: 4, sse: 0.1, expertSizes: [3, 4, 3])
    return try writer.commit()
  }
}

/// Byte-level edits of a container file, for malformed-file tests.
enum ContainerBytes {
  /// The file's bytes.
  static func read(_ path: String) throws -> [UInt8] {
    Array(try Data(contentsOf: URL(fileURLWithPath: path)))
  }

  /// Writes `bytes` to `path`.
  static func write(_ bytes: [UInt8], to path: String) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
  }

  /// A little-endian UInt64 field of the header.
  static func field(_ bytes: [UInt8], at offset: Int) -> UInt64 {
    (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
  }

  /// Replaces a little-endian UInt64 field of the header.
  static func setField(_ bytes: inout [UInt8], at offset: Int, _ value: UInt64) {
    for index in 0..<8 {
      bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(index)))
    }
  }

  /// The manifest JSON stored in `bytes`.
  static func manifest(_ bytes: [UInt8]) throws -> JSONValue {
    let length = Int(field(bytes, at: 24))
    var region = Array(bytes[64..<(64 + length)])
    while region.last == UInt8(ascii: " ") { region.removeLast() }
    return try JSONValue.parse(String(decoding: region, as: UTF8.self))
  }

  /// Recomputes the header checksum after an edit.
  static func fixChecksum(_ bytes: inout [UInt8]) {
    let dataOffset = Int(field(bytes, at: 32))
    let head = Array(bytes[0..<64])
    let region = Array(bytes[64..<dataOffset])
    let digest = head.withUnsafeBytes { h in
      region.withUnsafeBytes { ContainerHeader.checksum(header: h, manifestRegion: $0) }
    }
    setField(&bytes, at: 48, digest)
  }

  /// Replaces the manifest with `edit` applied (re-padded to the same region) and fixes the
  /// header checksum, so only the edited rule is broken.
  static func editManifest(_ bytes: inout [UInt8], _ edit: (inout JSONValue) -> Void) throws {
    var json = try manifest(bytes)
    edit(&json)
    replaceManifest(&bytes, text: Array(json.serialized().utf8))
  }

  /// Replaces the manifest region's text with `text` padded with spaces, and fixes the checksum.
  static func replaceManifest(_ bytes: inout [UInt8], text: [UInt8]) {
    let length = Int(field(bytes, at: 24))
    precondition(text.count <= length, "edited manifest outgrew its region")
    bytes.replaceSubrange(
      64..<(64 + length),
      with: text + [UInt8](repeating: UInt8(ascii: " "), count: length - text.count))
    fixChecksum(&bytes)
  }
}

/// A step of a path into a JSON document.
enum JSONStep {
  case key(String)
  case index(Int)
}

extension JSONValue {
  /// The value at `path`, or `nil`.
  subscript(path path: [JSONStep]) -> JSONValue? {
    var current: JSONValue? = self
    for step in path {
      switch step {
      case .key(let key): current = current?[key]
      case .index(let index):
        guard let array = current?.arrayValue, index < array.count else { return nil }
        current = array[index]
      }
    }
    return current
  }

  /// Sets (or, with `nil`, removes) the value at `path`; the parents must exist.
  mutating func set(_ path: [JSONStep], _ value: JSONValue?) {
    guard let first = path.first else {
      if let value { self = value }
      return
    }
    let rest = Array(path.dropFirst())
    switch (self, first) {
    case (.object(var members), .key(let key)):
      if let position = members.firstIndex(where: { $0.key == key }) {
        if rest.isEmpty, value == nil {
          members.remove(at: position)
        } else {
          members[position].value.set(rest, value)
        }
      } else if rest.isEmpty, let value {
        members.append(JSONMember(key, value))
      }
      self = .object(members)
    case (.array(var elements), .index(let index)) where index < elements.count:
      if rest.isEmpty, value == nil {
        elements.remove(at: index)
      } else {
        elements[index].set(rest, value)
      }
      self = .array(elements)
    default:
      break
    }
  }
}
