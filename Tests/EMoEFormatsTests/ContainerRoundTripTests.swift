import EMoECore
import EMoEFormats
import EMoETestSupport
import Foundation
import Testing

@Suite("ContainerWriter and ContainerFile round trips")
struct ContainerRoundTripTests {
  static let compressions: [(ContainerCompression, Bool)] = [
    (.none, false), (.zstd(level: 3), false), (.zstd(level: 1), true), (.zstd(level: 19), false),
  ]

  @Test(
    "every storage type reads back byte for byte, with and without compression",
    arguments: 0..<compressions.count)
  func everyStorageType(_ variant: Int) throws {
    let (compression, alternate) = Self.compressions[variant]
    let directory = try TemporaryDirectory()
    let path = directory.file("sample.emoe")
    let sample = SampleContainer.make(compression: compression, alternate: alternate)
    try sample.write(to: path)

    let container = try ContainerFile(path: path)
    #expect(container.entries.map(\.name) == sample.plan.tensors.map(\.name))
    for declaration in sample.plan.tensors {
      let entry = try #require(container.entry(named: declaration.name))
      #expect(entry.declaration == declaration)
      #expect(entry.offset % 64 == 0)
      let tensor = try container.storedTensor(named: declaration.name)
      #expect(tensor.dtype == declaration.dtype)
      #expect(tensor.shape == declaration.shape)
      let bytes = tensor.withUnsafeBytes { Array($0) }
      #expect(bytes == sample.payloads[declaration.name], "\(declaration.name)")
      if case .none = declaration.compression {
        guard case .mapped = tensor.storage else {
          Issue.record("\(declaration.name): an uncompressed tensor should be mapped, not copied")
          continue
        }
      }
    }
    let features = container.manifest.requiredFeatures
    #expect(features.contains("int8_rows"))
    #expect(features.contains("zstd") == (compression != .none))
    let failures = container.verifyChecksums().filter { !$0.ok }
    #expect(failures.isEmpty)
    #expect(container.verifyPadding().ok)
  }

  @Test("layer records, provenance, options and config read back as written")
  func records() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("sample.emoe")
    let sample = SampleContainer.make()
    let written = try sample.write(to: path)
    let container = try ContainerFile(path: path)
    #expect(container.manifest == written)
    #expect(container.layers.count == 2)
    let plain = try #require(container.layers.first)
    #expect(plain.clustering.iterations == 17)
    #expect(plain.clustering.sse == 12.625)
    #expect(plain.expertRange(2) == 12..<18)
    let glu = container.layers[1]
    #expect(glu.expertSizes == [3, 4, 3])
    #expect(glu.expertRange(1) == 3..<7)
    #expect(glu.clustering.sse == 0.1)
    #expect(container.manifest.tool == ContainerTool(name: "emoe-pack", version: "0.1.0"))
    #expect(container.manifest.options == sample.plan.options)
    #expect(container.config == sample.plan.source.config)
    #expect(container.metadata == sample.plan.source.metadata)
    #expect(container.manifest.source.files == sample.plan.source.files)
    let wd = try #require(container.entry(named: "emoe.layers.7.wd"))
    #expect(wd.declaration.source?.transposed == true)
    #expect(wd.declaration.source?.values == .lossy)
    let scales = try #require(try container.tensor(.w2, of: plain))
    #expect(scales.dtype == .i8)
  }

  @Test("each expert's rows of each matrix are one mapped byte range")
  func expertSlices() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("sample.emoe")
    let sample = SampleContainer.make()
    try sample.write(to: path)
    let container = try ContainerFile(path: path)
    let plain = container.layers[0]
    let glu = container.layers[1]
    let w1 = try #require(sample.payloads["emoe.layers.3.w1"])
    let rowBytes = 16 * 4
    for expert in 0..<4 {
      let slice = try #require(container.expertBytes(.w1, of: plain, expert: expert))
      #expect(Array(slice) == Array(w1[(expert * 6 * rowBytes)..<((expert + 1) * 6 * rowBytes)]))
      let scales = try #require(container.expertScales(.w2, of: plain, expert: expert))
      let allScales = try #require(sample.payloads["emoe.layers.3.w2.scale"])
      #expect(Array(scales) == Array(allScales[(expert * 24)..<((expert + 1) * 24)]))
    }
    // GLU expert sizes were set to [3, 4, 3]: expert 1 is rows 3..<7 of 34-byte Q8_0 rows.
    let wg = try #require(sample.payloads["emoe.layers.7.wg"])
    let slice = try #require(container.expertBytes(.wg, of: glu, expert: 1))
    #expect(Array(slice) == Array(wg[(3 * 34)..<(7 * 34)]))
    #expect(container.expertBytes(.wg, of: glu, expert: 3) == nil)
    #expect(container.expertBytes(.b2, of: plain, expert: 0) == nil)
    #expect(container.expertScales(.w1, of: plain, expert: 0) == nil)
  }

  @Test("as a ModelSource it lists the passthrough tensors only, with their dtypes")
  func modelSource() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("sample.emoe")
    let sample = SampleContainer.make(compression: .zstd(level: 3))
    try sample.write(to: path)
    let source: any ModelSource = try ContainerFile(path: path)
    #expect(
      source.tensorInfos.map(\.name) == [
        "embeddings.word_embeddings.weight", "embeddings.position_ids",
        "embeddings.LayerNorm.weight", "blk.0.attn_q.weight", "scale.f8", "empty",
        "output_norm.weight",
      ])
    #expect(source.tensorInfos.map(\.dtype) == [.f32, .i64, .bf16, .q4_1, .f8E4M3, .f32, .f32])
    #expect(source.files == [path])
    let tensor = try source.tensor(named: "blk.0.attn_q.weight")
    #expect(tensor.withUnsafeBytes { Array($0) } == sample.payloads["blk.0.attn_q.weight"])
    #expect(throws: ContainerError.self) { try source.tensor(named: "missing") }
  }

  @Test("GGUF metadata keeps every value's exact type, arrays and non-finite floats included")
  func ggufMetadata() throws {
    let entries: [(key: String, value: GGUFValue)] = [
      ("general.architecture", .string("llama")),
      ("u8", .uint8(255)), ("i8", .int8(-128)), ("u16", .uint16(65535)), ("i16", .int16(-32768)),
      ("u32", .uint32(4_294_967_295)), ("i32", .int32(-2_147_483_648)),
      ("u64", .uint64(UInt64.max)), ("i64", .int64(Int64.min)),
      ("f32", .float32(0.1)), ("f32.nan", .float32(Float(bitPattern: 0x7FC0_1234))),
      ("f32.inf", .float32(-.infinity)), ("f32.negzero", .float32(-0.0)),
      ("f64", .float64(1e-300)), ("f64.nan", .float64(Double(bitPattern: 0x7FF8_0000_0000_0042))),
      ("flag", .bool(true)), ("text", .string("tab\there \"quoted\" \u{1} ünïcode 🙂")),
      (
        "tokens",
        .array(elementType: .string, elements: [.string("<s>"), .string(""), .string("\n")])
      ),
      (
        "scores",
        .array(elementType: .float32, elements: [.float32(-1.5), .float32(.nan), .float32(3e38)])
      ),
      ("types", .array(elementType: .int32, elements: [.int32(1), .int32(-2)])),
      ("empty", .array(elementType: .uint8, elements: [])),
      (
        "nested",
        .array(
          elementType: .array,
          elements: [.array(elementType: .uint16, elements: [.uint16(1), .uint16(2)])])
      ),
    ]
    var sample = SampleContainer.make()
    sample.plan.source.metadata = .gguf(entries)
    sample.plan.source.format = "gguf"
    sample.plan.source.config = nil
    let directory = try TemporaryDirectory()
    let path = directory.file("gguf.emoe")
    try sample.write(to: path)
    let container = try ContainerFile(path: path)
    guard case .gguf(let read) = container.metadata else {
      Issue.record("metadata kind changed: \(container.metadata)")
      return
    }
    #expect(read.count == entries.count)
    for (got, want) in zip(read, entries) {
      #expect(got.key == want.key)
      #expect(got.value.type == want.value.type, "\(want.key)")
      #expect(
        Self.bitwiseEqual(got.value, want.value), "\(want.key): \(got.value) != \(want.value)")
    }
    #expect(container.config == nil)
  }

  @Test("two writes of the same plan and data give identical bytes")
  func deterministic() throws {
    let directory = try TemporaryDirectory()
    let sample = SampleContainer.make(compression: .zstd(level: 3), alternate: true)
    try sample.write(to: directory.file("a.emoe"))
    try sample.write(to: directory.file("b.emoe"))
    let first = try ContainerBytes.read(directory.file("a.emoe"))
    let second = try ContainerBytes.read(directory.file("b.emoe"))
    #expect(first == second)
    #expect(first.count % 64 == 0)
  }

  @Test("an abandoned or aborted writer leaves no file, nor a temporary one")
  func abandoned() throws {
    let directory = try TemporaryDirectory()
    let sample = SampleContainer.make()
    do {
      let writer = try ContainerWriter(path: directory.file("dropped.emoe"), plan: sample.plan)
      let first = sample.plan.tensors[0]
      try (sample.payloads[first.name] ?? []).withUnsafeBytes {
        try writer.append(first.name, bytes: $0)
      }
    }
    let writer = try ContainerWriter(path: directory.file("aborted.emoe"), plan: sample.plan)
    writer.abort()
    #expect(throws: ContainerError.self) { try writer.commit() }
    let left = try FileManager.default.contentsOfDirectory(atPath: directory.path)
    #expect(left.isEmpty, "left behind: \(left)")
  }

  @Test("appends that break the plan are refused and remove the temporary file")
  func misuse() throws {
    let directory = try TemporaryDirectory()
    let sample = SampleContainer.make()
    let path = directory.file("misuse.emoe")
    let outOfOrder = try ContainerWriter(path: path, plan: sample.plan)
    #expect(outOfOrder.nextTensorName == "embeddings.word_embeddings.weight")
    let error = #expect(throws: ContainerError.self) {
      try [UInt8](repeating: 0, count: 16).withUnsafeBytes {
        try outOfOrder.append("empty", bytes: $0)
      }
    }
    #expect(error?.kind == .invalidPlan)
    #expect(error?.description.contains("embeddings.word_embeddings.weight") == true)

    let wrongSize = try ContainerWriter(path: path, plan: sample.plan)
    #expect(throws: ContainerError.self) {
      try [UInt8](repeating: 0, count: 3).withUnsafeBytes {
        try wrongSize.append("embeddings.word_embeddings.weight", bytes: $0)
      }
    }
    let early = try ContainerWriter(path: path, plan: sample.plan)
    let missing = #expect(throws: ContainerError.self) { try early.commit() }
    #expect(missing?.description.contains("never appended") == true)
    #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
  }

  @Test("plans that break the format's rules are refused before any data is written")
  func invalidPlans() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("bad.emoe")
    func refused(_ change: (inout ContainerPlan) -> Void, _ phrase: String) {
      var plan = SampleContainer.make().plan
      change(&plan)
      let error = #expect(throws: ContainerError.self) {
        _ = try ContainerWriter(path: path, plan: plan)
      }
      #expect(error?.kind == .invalidPlan)
      #expect(error?.description.contains(phrase) == true, "\(error?.description ?? "no error")")
    }
    refused({ $0.tensors[1].name = $0.tensors[0].name }, "listed twice")
    refused({ $0.tensors[3].shape = [4, 31] }, "blocks")
    refused({ $0.layers[0].tensors[.w1] = "nope" }, "'nope' is not stored")
    refused({ $0.layers[0].tensors[.w1] = nil }, "'w1' is missing")
    refused({ $0.layers[0].expertSizes = [5, 7, 6, 6] }, "sizes must each be")
    refused({ $0.layers[0].topK = 9 }, "top_k")
    refused({ $0.layers[1].clustering.keys = .w1 }, "keys")
    refused({ $0.layers[1].tensors[.b1] = "emoe.layers.3.b1" }, "does not belong")
    refused({ $0.options = .array([]) }, "options")
    refused({ $0.layers[0].activation = "GeLU" }, "activation")
    refused(
      { $0.source.files[0].sha256 = "xyz" }, "sha256")
    refused({ $0.tensors[0].compression = .zstd(level: 99) }, "level")
    #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
  }

  @Test("F32 values are stored as F32, F16 or BF16 with round-to-nearest-even")
  func floatAppends() throws {
    let values: [Float] = [0, -0.0, 1, -2.5, 65504, 1e-8, .infinity, 3.14159, 1.0009765625]
    let declarations = [
      ContainerTensorDeclaration(name: "a", dtype: .f32, shape: [9]),
      ContainerTensorDeclaration(name: "b", dtype: .f16, shape: [9], compression: .zstd(level: 1)),
      ContainerTensorDeclaration(name: "c", dtype: .bf16, shape: [3, 3]),
    ]
    let plan = ContainerPlan(
      tool: ContainerTool(name: "test", version: "1"), options: .object([]),
      source: ContainerSourceDescription(format: "none", files: [], metadata: .none, config: nil),
      layers: [], tensors: declarations)
    let directory = try TemporaryDirectory()
    let path = directory.file("floats.emoe")
    let writer = try ContainerWriter(path: path, plan: plan)
    try writer.append("a", floats: values)
    try writer.append("b", floats: values)
    try writer.append("c", floats: values)
    try writer.commit()
    let container = try ContainerFile(path: path)
    #expect(try container.storedTensor(named: "a").floatValues() == values)
    let f16 = try container.storedTensor(named: "b").withUnsafeBytes {
      Array($0.bindMemory(to: UInt16.self))
    }
    #expect(f16 == values.map { Float16($0).bitPattern })
    let bf16 = try container.storedTensor(named: "c").withUnsafeBytes {
      Array($0.bindMemory(to: UInt16.self))
    }
    #expect(bf16 == values.map(HalfPrecision.bf16(from:)))
    #expect(container.layers.isEmpty)
    #expect(container.tensorInfos.map(\.name) == ["a", "b", "c"])
  }

  static func bitwiseEqual(_ a: GGUFValue, _ b: GGUFValue) -> Bool {
    switch (a, b) {
    case (.float32(let x), .float32(let y)): x.bitPattern == y.bitPattern
    case (.float64(let x), .float64(let y)): x.bitPattern == y.bitPattern
    case (.array(let ta, let xs), .array(let tb, let ys)):
      ta == tb && xs.count == ys.count && zip(xs, ys).allSatisfy { bitwiseEqual($0, $1) }
    default: a == b
    }
  }
}
