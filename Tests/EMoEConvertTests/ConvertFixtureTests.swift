import EMoEConvert
import EMoECore
import EMoEFormats
import EMoETestSupport
import Foundation
import Testing

/// Conversions of the bundled fixtures, checked by the Python oracle `check_container.py`
/// against the SOURCE files: every expert block holds exactly the source rows the stored
/// permutation claims (bit for bit), expert sizes are equal, gate rows are the means of the raw
/// keys, biases are permuted or copied, and passthrough tensors are byte-identical.
@Suite("convert: fixtures against the numpy oracle")
struct ConvertFixtureTests {
  static let fixtures = ["bert-tiny", "gpt2-tiny", "llama-tiny", "llama-tiny-sharded"]

  @Test(
    "every layer of every fixture, E = 4", .enabled(if: Oracles.python(["numpy", "safetensors"])),
    arguments: fixtures)
  func allLayers(fixture: String) throws {
    try PythonOracle.require(["numpy", "safetensors"])
    let directory = try TemporaryDirectory()
    let (path, summary) = try ConvertTestSupport.convert(
      ConvertTestSupport.fixture(fixture),
      ConversionOptions(experts: 4, topK: 2, layers: "all"), into: directory)
    let report = try ConvertTestSupport.runOracle(
      "check_container.py", [ConvertTestSupport.fixture(fixture), path])
    #expect(report["ok"]?.boolValue == true, "\(report)")
    let layerCount = fixture.hasPrefix("llama") ? 4 : 2
    #expect(report["layers"]?.arrayValue?.count == layerCount)
    #expect(summary.layers.map(\.layer) == Array(0..<layerCount))
    #expect(summary.layers.allSatisfy { Set($0.expertSizes).count == 1 && $0.experts == 4 })
    #expect(summary.changedTensors.isEmpty, "unquantised float inputs move bit for bit")
    #expect(try ContainerIntegrity.verify(path: path).ok)
    #expect(summary.sha256 == nil, "the library reads the output back only when asked")
  }

  @Test("the paper's defaults: llama-tiny converts layer 2 into 64 experts, top-16")
  func defaults() throws {
    let directory = try TemporaryDirectory()
    // One restart keeps the test quick; E, top-k and the layers are the defaults.
    let (path, summary) = try ConvertTestSupport.convert(
      ConvertTestSupport.fixture("llama-tiny"), ConversionOptions(restarts: 1), into: directory)
    #expect(summary.layers.map(\.layer) == [2])
    #expect(summary.layers.first?.experts == 64)
    #expect(summary.layers.first?.topK == 16)
    #expect(summary.layers.first?.expertSizes == Array(repeating: 4, count: 64))
    let container = try ContainerFile(path: path)
    #expect(container.manifest.options == ConversionOptions(restarts: 1).json)
    #expect(container.layers.first?.clustering.keys == .gate)
  }

  @Test(
    "quantised experts (int8 rows and Q8_0) stay within half a quantisation step",
    .enabled(if: Oracles.python(["numpy", "safetensors", "gguf"])))
  func quantised() throws {
    try PythonOracle.require(["numpy", "safetensors", "gguf"])
    for (fixture, quantization) in [("llama-tiny", ExpertQuantization.q8_0), ("bert-tiny", .int8)] {
      let directory = try TemporaryDirectory()
      let (path, summary) = try ConvertTestSupport.convert(
        ConvertTestSupport.fixture(fixture),
        ConversionOptions(experts: 4, layers: "1", quantize: quantization), into: directory)
      let report = try ConvertTestSupport.runOracle(
        "check_container.py", [ConvertTestSupport.fixture(fixture), path])
      #expect(report["ok"]?.boolValue == true, "\(report)")
      #expect(summary.changedTensors.allSatisfy { $0.values == .lossy })
      #expect(summary.changedTensors.count == (fixture == "bert-tiny" ? 2 : 3))
      let container = try ContainerFile(path: path)
      let record = try #require(container.layers.first)
      let matrix = try #require(record.tensors[fixture == "bert-tiny" ? .w2 : .wd])
      #expect(container.entry(named: matrix)?.dtype == (quantization == .int8 ? .i8 : .q8_0))
      #expect(container.entry(named: record.tensors[.router] ?? "")?.dtype == .f32)
    }
  }

  @Test(
    "--router-bias, --cluster-on up, uneven sizes, and another seed",
    .enabled(if: Oracles.python(["numpy", "safetensors"])))
  func variants() throws {
    try PythonOracle.require(["numpy", "safetensors"])
    let cases: [(String, ConversionOptions)] = [
      ("bert-tiny", ConversionOptions(experts: 8, layers: "0", routerBias: true)),
      ("llama-tiny", ConversionOptions(experts: 8, layers: "3", clusterOn: .up, seed: 7)),
      ("bert-tiny", ConversionOptions(experts: 3, layers: "1", allowUneven: true)),
    ]
    for (fixture, options) in cases {
      let directory = try TemporaryDirectory()
      let (path, summary) = try ConvertTestSupport.convert(
        ConvertTestSupport.fixture(fixture), options, into: directory)
      let report = try ConvertTestSupport.runOracle(
        "check_container.py", [ConvertTestSupport.fixture(fixture), path])
      #expect(report["ok"]?.boolValue == true, "\(options.json.serialized()): \(report)")
      let container = try ContainerFile(path: path)
      let record = try #require(container.layers.first)
      if options.routerBias { #expect(record.tensors[.routerBias] != nil) }
      if options.clusterOn == .up { #expect(record.clustering.keys == .up) }
      if options.allowUneven {
        #expect(summary.layers.first?.expertSizes.sorted() == [42, 43, 43])
      }
      #expect(record.clustering.seed == options.seed)
    }
  }

  @Test(
    "the oracle notices a permutation that does not match the stored rows",
    .enabled(if: Oracles.python(["numpy", "safetensors"])))
  func oracleCatchesTampering() throws {
    try PythonOracle.require(["numpy", "safetensors"])
    let directory = try TemporaryDirectory()
    let (path, _) = try ConvertTestSupport.convert(
      ConvertTestSupport.fixture("bert-tiny"), ConversionOptions(experts: 4, layers: "1"),
      into: directory)
    let container = try ContainerFile(path: path)
    let record = try #require(container.layers.first)
    let entry = try #require(container.entry(named: record.tensors[.permutation] ?? ""))
    var bytes = [UInt8](try ConvertTestSupport.bytes(path))
    // Swap the first two stored positions of σ: the rows no longer match the claim.
    for index in 0..<4 { bytes.swapAt(entry.offset + index, entry.offset + 4 + index) }
    let tampered = directory.file("tampered.emoe")
    try Data(bytes).write(to: URL(fileURLWithPath: tampered))
    let report = try ConvertTestSupport.runOracle(
      "check_container.py", [ConvertTestSupport.fixture("bert-tiny"), tampered])
    #expect(report["ok"]?.boolValue == false)
  }

  @Test("the same conversion twice is byte-identical, with 1 or 2 threads")
  func deterministic() throws {
    let directory = try TemporaryDirectory()
    var hashes: [String] = []
    for threads in [1, 2, 1] {
      let (path, _) = try ConvertTestSupport.convert(
        ConvertTestSupport.fixture("llama-tiny"),
        ConversionOptions(experts: 8, layers: "1,3", threads: threads), into: directory,
        name: "run\(hashes.count).emoe")
      hashes.append(try FileSystem.sha256(ofFile: path))
    }
    #expect(Set(hashes).count == 1, "\(hashes)")
  }

  @Test("--compress stores zstd frames that decompress to the uncompressed conversion's bytes")
  func compressed() throws {
    let directory = try TemporaryDirectory()
    let options = ConversionOptions(experts: 4, layers: "0")
    let (plain, _) = try ConvertTestSupport.convert(
      ConvertTestSupport.fixture("bert-tiny"), options, into: directory, name: "plain.emoe")
    var compressedOptions = options
    compressedOptions.compressionLevel = 3
    let (packed, _) = try ConvertTestSupport.convert(
      ConvertTestSupport.fixture("bert-tiny"), compressedOptions, into: directory,
      name: "packed.emoe")
    let a = try ContainerFile(path: plain)
    let b = try ContainerFile(path: packed)
    #expect(try ContainerIntegrity.verify(path: packed).ok)
    #expect(b.manifest.requiredFeatures == ["zstd"])
    #expect(a.entries.map(\.name) == b.entries.map(\.name))
    for entry in a.entries {
      let left = try a.storedTensor(named: entry.name).withUnsafeBytes { Array($0) }
      let right = try b.storedTensor(named: entry.name).withUnsafeBytes { Array($0) }
      #expect(left == right, "\(entry.name)")
    }
  }
}
