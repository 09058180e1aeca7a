import EMoECore
import EMoEFormats
import EMoETestSupport
import Foundation
import Testing

/// Cross-checks against the Python `safetensors` package, whose reader and writer are the Rust
/// reference implementation.
@Suite("safetensors: cross-checks with the Python reference")
struct SafeTensorsPythonTests {
  /// The dtype names the reference's `TensorSpec` takes for each plain dtype.
  static let referenceNames: [DType: String] = [
    .f64: "float64", .f32: "float32", .f16: "float16", .bf16: "bfloat16", .i64: "int64",
    .i32: "int32", .i16: "int16", .i8: "int8", .u8: "uint8", .bool: "bool",
    .f8E4M3: "float8_e4m3fn", .f8E5M2: "float8_e5m2",
  ]

  private func parseJSONObject(_ text: String) throws -> [String: Any] {
    try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
  }

  private func hex(_ bytes: UnsafeRawBufferPointer) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
  }

  @Test(
    "files we write are read by the reference with identical dtypes, shapes, bytes and metadata",
    .enabled(if: Oracles.python(["numpy", "safetensors"])))
  func pythonReadsOurFiles() throws {
    try PythonOracle.require(["numpy", "safetensors"])
    let directory = try TemporaryDirectory()
    let path = directory.file("ours.safetensors")
    let tensors = safeTensorsSampleTensors()
    try SafeTensorsWriter.write(to: path, tensors: tensors, metadata: [("origin", "emoe-pack")])
    // safetensors.deserialize returns raw bytes for every dtype (numpy has no BF16 or F8);
    // safe_open(framework="np") loads the numpy-representable ones as arrays.
    let script = """
      import json, sys
      import numpy as np
      from safetensors import deserialize, safe_open
      path = sys.argv[1]
      out = {"tensors": {}, "arrays": {}}
      for name, info in deserialize(open(path, "rb").read()):
          out["tensors"][name] = [info["dtype"], list(info["shape"]), bytes(info["data"]).hex()]
      with safe_open(path, framework="np") as f:
          out["metadata"] = f.metadata()
          out["keys"] = list(f.offset_keys())
          for name in f.keys():
              if out["tensors"][name][0] in ("BF16", "F8_E4M3", "F8_E5M2"):
                  continue
              array = f.get_tensor(name)
              out["arrays"][name] = [str(array.dtype), list(array.shape),
                                     np.ascontiguousarray(array).tobytes().hex()]
      print(json.dumps(out))
      """
    let result = try parseJSONObject(try PythonOracle.check(script, arguments: [path]))
    let read = try #require(result["tensors"] as? [String: [Any]])
    let arrays = try #require(result["arrays"] as? [String: [Any]])
    #expect(read.count == tensors.count)
    #expect(arrays.count == tensors.count - 3)
    for tensor in tensors {
      let entry = try #require(read[tensor.name], "\(tensor.name)")
      #expect(entry[0] as? String == tensor.dtype.rawValue)
      #expect(entry[1] as? [Int] == tensor.shape.dimensions)
      let bytesHex = tensor.withUnsafeBytes { hex($0) }
      #expect(entry[2] as? String == bytesHex, "\(tensor.name)")
      if let array = arrays[tensor.name] {
        #expect(array[1] as? [Int] == tensor.shape.dimensions)
        #expect(array[2] as? String == bytesHex, "\(tensor.name) as numpy \(array[0])")
      }
    }
    #expect(result["metadata"] as? [String: String] == ["format": "pt", "origin": "emoe-pack"])
    let file = try SafeTensorsFile(path: path)
    #expect(result["keys"] as? [String] == file.entries.map(\.name))
  }

  @Test(
    "for the same tensors and metadata, our file is byte-identical to the reference writer's",
    .enabled(if: Oracles.python(["numpy", "safetensors"])))
  func byteIdenticalToReferenceWriter() throws {
    try PythonOracle.require(["numpy", "safetensors"])
    let directory = try TemporaryDirectory()
    let ours = directory.file("ours.safetensors")
    let theirs = directory.file("theirs.safetensors")
    let tensors =
      safeTensorsSampleTensors() + [
        Tensor(name: "b", shape: [1], float32: [1]),
        Tensor(name: "a", shape: [2], float32: [2, 3]),
        Tensor(name: "uni\u{E9}", dtype: .u8, shape: [1], storage: .owned([9])),
      ]
    try SafeTensorsWriter.write(to: ours, tensors: tensors)
    var spec: [String: Any] = [:]
    for tensor in tensors {
      spec[tensor.name] = [
        Self.referenceNames[tensor.dtype]!, tensor.shape.dimensions,
        tensor.withUnsafeBytes { hex($0) },
      ]
    }
    let specText = String(decoding: try JSONSerialization.data(withJSONObject: spec), as: UTF8.self)
    let script = """
      import json, sys
      import numpy as np
      import safetensors._safetensors_rust as rust
      spec = json.loads(sys.argv[1])
      buffers, specs = {}, {}
      for name, (dtype, shape, data) in spec.items():
          buffers[name] = np.frombuffer(bytes.fromhex(data), dtype=np.uint8).copy()
          specs[name] = rust.TensorSpec(dtype=dtype, shape=shape,
                                        data_ptr=buffers[name].ctypes.data,
                                        data_len=len(buffers[name]))
      open(sys.argv[2], "wb").write(bytes(rust.serialize(specs, metadata={"format": "pt"})))
      """
    _ = try PythonOracle.check(script, arguments: [specText, theirs])
    let ourBytes = try #require(FileManager.default.contents(atPath: ours))
    let theirBytes = try #require(FileManager.default.contents(atPath: theirs))
    #expect(ourBytes == theirBytes)
  }

  @Test(
    "files the reference writes (every plain dtype, bf16 and f8 included) read back equal",
    .enabled(if: Oracles.python(["numpy", "safetensors"])))
  func weReadPythonFiles() throws {
    try PythonOracle.require(["numpy", "safetensors"])
    let directory = try TemporaryDirectory()
    let numpyPath = directory.file("numpy.safetensors")
    let rawPath = directory.file("raw.safetensors")
    let script = """
      import json, sys
      import numpy as np
      import safetensors._safetensors_rust as rust
      from safetensors.numpy import save_file
      rng = np.random.default_rng(7)
      arrays = {
          "f64": rng.standard_normal((3, 2)), "f32": rng.standard_normal((4, 5)).astype(np.float32),
          "f16": rng.standard_normal((7,)).astype(np.float16),
          "i64": rng.integers(-2**40, 2**40, (2, 3)), "i32": rng.integers(-9, 9, (5,), dtype=np.int32),
          "i16": rng.integers(-300, 300, (2, 2), dtype=np.int16),
          "i8": rng.integers(-100, 100, (6,), dtype=np.int8),
          "u8": rng.integers(0, 255, (3, 1), dtype=np.uint8), "bool": rng.integers(0, 2, (4,)) == 1,
          "scalar": np.array(1.5, dtype=np.float32), "empty": np.zeros((0, 3), np.float32),
      }
      save_file(arrays, sys.argv[1], metadata={"source": "numpy"})
      raw = {"bf16": ("bfloat16", [2, 3]), "e4m3": ("float8_e4m3fn", [5]), "e5m2": ("float8_e5m2", [2, 2])}
      sizes = {"bfloat16": 2, "float8_e4m3fn": 1, "float8_e5m2": 1}
      buffers, specs = {}, {}
      for name, (dtype, shape) in raw.items():
          buffers[name] = rng.integers(0, 255, int(np.prod(shape)) * sizes[dtype], dtype=np.uint8)
          specs[name] = rust.TensorSpec(dtype=dtype, shape=shape, data_ptr=buffers[name].ctypes.data,
                                        data_len=len(buffers[name]))
      open(sys.argv[2], "wb").write(bytes(rust.serialize(specs, metadata={"source": "raw"})))
      out = {name: [list(a.shape), np.ascontiguousarray(a).tobytes().hex()] for name, a in arrays.items()}
      out.update({name: [shape, buffers[name].tobytes().hex()] for name, (_, shape) in raw.items()})
      print(json.dumps(out))
      """
    let expected = try parseJSONObject(
      try PythonOracle.check(script, arguments: [numpyPath, rawPath]))
    let dtypes: [String: DType] = [
      "f64": .f64, "f32": .f32, "f16": .f16, "i64": .i64, "i32": .i32, "i16": .i16, "i8": .i8,
      "u8": .u8, "bool": .bool, "scalar": .f32, "empty": .f32, "bf16": .bf16, "e4m3": .f8E4M3,
      "e5m2": .f8E5M2,
    ]
    let numpyFile = try SafeTensorsFile(path: numpyPath)
    let rawFile = try SafeTensorsFile(path: rawPath)
    #expect(numpyFile.metadata == .safetensors([("source", "numpy")]))
    #expect(rawFile.metadata == .safetensors([("source", "raw")]))
    #expect(numpyFile.entries.count + rawFile.entries.count == expected.count)
    for (name, value) in expected {
      let fields = try #require(value as? [Any])
      let file = ["bf16", "e4m3", "e5m2"].contains(name) ? rawFile : numpyFile
      let tensor = try file.tensor(named: name)
      #expect(tensor.dtype == dtypes[name], "\(name)")
      #expect(tensor.shape.dimensions == fields[0] as? [Int], "\(name)")
      #expect(tensor.withUnsafeBytes { hex($0) } == fields[1] as? String, "\(name)")
    }
    // Values, not only bytes: the F32 tensor decodes to what numpy holds.
    let f32 = try numpyFile.tensor(named: "f32").floatValues()
    #expect(f32.count == 20)
  }

  @Test(
    "the real MiniLM checkpoint: every tensor's name, dtype, shape and SHA-256 match Python's",
    .enabled(if: Oracles.python(["numpy", "safetensors"])), .enabled(if: Oracles.miniLM))
  func miniLMMatchesPython() throws {
    let path = try #require(try TestPaths.miniLM())
    try PythonOracle.require(["numpy", "safetensors"])
    let script = """
      import hashlib, json, sys
      from safetensors import safe_open
      out = {}
      with safe_open(sys.argv[1], framework="np") as f:
          for name in f.keys():
              array = f.get_tensor(name)
              out[name] = [str(array.dtype), list(array.shape), hashlib.sha256(array.tobytes()).hexdigest()]
          meta = f.metadata()
      print(json.dumps({"tensors": out, "metadata": meta}))
      """
    let result = try parseJSONObject(try PythonOracle.check(script, arguments: [path]))
    let expected = try #require(result["tensors"] as? [String: [Any]])
    let file = try SafeTensorsFile(path: path)
    #expect(file.entries.count == expected.count)
    #expect(file.entries.count > 100)
    let numpyNames: [DType: String] = [.f32: "float32", .f16: "float16", .i64: "int64"]
    for entry in file.entries {
      let fields = try #require(expected[entry.name], "\(entry.name) missing in Python")
      #expect(fields[0] as? String == numpyNames[entry.dtype], "\(entry.name)")
      #expect(fields[1] as? [Int] == entry.shape.dimensions, "\(entry.name)")
      var hash = SHA256()
      file.streamBytes(of: entry) { hash.update($0) }
      #expect(fields[2] as? String == hash.finalizeHex(), "\(entry.name)")
    }
    if let metadata = result["metadata"] as? [String: String] {
      guard case .safetensors(let pairs) = file.metadata else {
        Issue.record("wrong metadata kind")
        return
      }
      #expect(Dictionary(uniqueKeysWithValues: pairs.map { ($0.key, $0.value) }) == metadata)
    }
    #expect(file.config?["model_type"] == .string("bert"))
  }
}
