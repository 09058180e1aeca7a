import EMoECore
import EMoEFormats
import EMoENumerics
import EMoETestSupport
import Foundation
import Testing

/// Files written by gguf-py read by emoe-pack, and files written by emoe-pack read by gguf-py.
@Suite("GGUF interoperability with gguf-py")
struct GGUFPythonInteropTests {
  /// Writes a file with gguf.GGUFWriter and prints, per line, `kv <key> <canonical value>` for
  /// what it put in and `tensor <name> <ggml type> <shape> <sha256 of bytes> <sha256 of F32>`.
  static let writerScript = #"""
    import sys, hashlib, warnings
    import numpy as np
    import gguf
    from gguf import GGUFValueType as V, GGMLQuantizationType as Q, quants
    warnings.simplefilter("ignore")
    path = sys.argv[1]
    w = gguf.GGUFWriter(path, "llama")
    names = {V.UINT8: "u8", V.INT8: "i8", V.UINT16: "u16", V.INT16: "i16", V.UINT32: "u32",
             V.INT32: "i32", V.FLOAT32: "f32", V.BOOL: "bool", V.STRING: "string",
             V.UINT64: "u64", V.INT64: "i64", V.FLOAT64: "f64"}
    def payload(t, v):
        if t == V.FLOAT32: return "%08x" % np.array([v], dtype=np.float32).view(np.uint32)[0]
        if t == V.FLOAT64: return "%016x" % np.array([v], dtype=np.float64).view(np.uint64)[0]
        if t == V.BOOL: return "true" if v else "false"
        if t == V.STRING: return v.encode().hex()
        return str(int(v))
    lines = ["kv general.architecture string:" + "llama".encode().hex()]
    def add(key, t, v, sub=None):
        w.add_key_value(key, v, t, sub_type=sub)
        if t == V.ARRAY:
            lines.append(f"kv {key} array<{names[sub]}>[" + ",".join(payload(sub, x) for x in v) + "]")
        else:
            lines.append(f"kv {key} {names[t]}:{payload(t, v)}")
    add("t.u8", V.UINT8, 200); add("t.i8", V.INT8, -100); add("t.u16", V.UINT16, 60000)
    add("t.i16", V.INT16, -30000); add("t.u32", V.UINT32, 4000000000); add("t.i32", V.INT32, -7)
    add("t.f32", V.FLOAT32, 3.14159); add("t.bool", V.BOOL, True); add("t.false", V.BOOL, False)
    add("t.str", V.STRING, "grüße \u2603"); add("t.u64", V.UINT64, 2**64 - 1)
    add("t.i64", V.INT64, -2**63); add("t.f64", V.FLOAT64, -1e-300)
    add("t.arr.str", V.ARRAY, ["x", "yy", "\u00e9"], V.STRING)
    add("t.arr.i32", V.ARRAY, list(range(-3, 30)), V.INT32)
    add("t.arr.f32", V.ARRAY, [0.5, -2.25], V.FLOAT32)
    add("t.arr.u8", V.ARRAY, [1, 2, 255], V.UINT8)
    add("t.arr.bool", V.ARRAY, [True, False, True], V.BOOL)
    add("t.arr.u64", V.ARRAY, [2**63], V.UINT64)
    add("t.arr.f64", V.ARRAY, [1.5], V.FLOAT64)
    rng = np.random.default_rng(11)
    tensors = []
    def tensor(name, array, raw=None):
        w.add_tensor(name, array, raw_dtype=raw)
        tensors.append((name, array, raw))
    tensor("f32", rng.standard_normal((3, 7)).astype(np.float32))
    tensor("f16", rng.standard_normal((2, 5)).astype(np.float16))
    tensor("i8", rng.integers(-128, 127, (4,), dtype=np.int8))
    tensor("i16", rng.integers(-1000, 1000, (2, 2), dtype=np.int16))
    tensor("i32", rng.integers(-10**6, 10**6, (3,), dtype=np.int32))
    tensor("f64", rng.standard_normal((2,)).astype(np.float64))
    bf = quants.quantize(rng.standard_normal((2, 8)).astype(np.float32), Q.BF16)
    tensor("bf16", bf, Q.BF16)
    q8 = quants.quantize(rng.standard_normal((4, 64)).astype(np.float32), Q.Q8_0)
    tensor("q8_0", q8, Q.Q8_0)
    q41 = quants.quantize(rng.standard_normal((2, 3, 32)).astype(np.float32), Q.Q4_1)
    tensor("blk.0.q4_1", q41, Q.Q4_1)
    q6 = rng.integers(0, 256, (2, 210), dtype=np.uint8)
    q6[:, 208:210] = np.array([0.01, 0.02], dtype=np.float16).view(np.uint8).reshape(2, 2)
    tensor("q6_k", q6, Q.Q6_K)
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
    r = gguf.GGUFReader(path)
    for t in r.tensors:
        raw = np.array(t.data).tobytes()
        try:
            f32 = quants.dequantize(np.array(t.data), t.tensor_type)
            fh = hashlib.sha256(np.ascontiguousarray(f32, dtype="<f4").tobytes()).hexdigest()
        except NotImplementedError:
            fh = "-"
        shape = ",".join(str(int(x)) for x in reversed(t.shape.tolist()))
        lines.append(f"tensor {t.name} {int(t.tensor_type)} [{shape}] {hashlib.sha256(raw).hexdigest()} {fh}")
    print("\n".join(lines))
    """#

  /// Reads a file with gguf.GGUFReader and prints the same line format from what it read.
  static let readerScript = #"""
    import sys, hashlib
    import numpy as np
    import gguf
    from gguf import GGUFValueType as V
    names = {V.UINT8: "u8", V.INT8: "i8", V.UINT16: "u16", V.INT16: "i16", V.UINT32: "u32",
             V.INT32: "i32", V.FLOAT32: "f32", V.BOOL: "bool", V.STRING: "string",
             V.UINT64: "u64", V.INT64: "i64", V.FLOAT64: "f64"}
    def payload(t, part):
        if t == V.STRING: return bytes(part).hex()
        if t == V.FLOAT32: return "%08x" % part.view(np.uint32)[0]
        if t == V.FLOAT64: return "%016x" % part.view(np.uint64)[0]
        if t == V.BOOL: return "true" if part[0] else "false"
        return str(int(part[0]))
    r = gguf.GGUFReader(sys.argv[1])
    print("alignment", r.alignment)
    for key, f in r.fields.items():
        if key.startswith("GGUF."): continue
        if f.types[0] == V.ARRAY:
            et = f.types[1] if len(f.types) > 1 else None
            items = ",".join(payload(et, f.parts[i]) for i in f.data)
            et_name = names[et] if et is not None else names[V(int(f.parts[3][0]))]
            print(f"kv {key} array<{et_name}>[{items}]")
        else:
            print(f"kv {key} {names[f.types[0]]}:{payload(f.types[0], f.parts[f.data[0]])}")
    for t in r.tensors:
        raw = np.array(t.data).tobytes()
        shape = ",".join(str(int(x)) for x in reversed(t.shape.tolist()))
        print(f"tensor {t.name} {int(t.tensor_type)} [{shape}] {hashlib.sha256(raw).hexdigest()}")
    """#

  @Test(
    "a file written by gguf-py reads with equal metadata, types and tensors",
    .enabled(if: Oracles.python(["numpy", "gguf"])))
  func readsPythonFile() throws {
    try PythonOracle.require(["numpy", "gguf"])
    let folder = try TemporaryDirectory()
    let path = folder.file("py.gguf")
    let lines = try PythonOracle.check(Self.writerScript, arguments: [path])
      .split(separator: "\n").map(String.init)
    let file = try GGUFFile(path: path)
    let expectedKeys = lines.filter { $0.hasPrefix("kv ") }
    let actualKeys = file.keyValues.map { "kv \($0.key) \(GGUFTestSupport.canonical($0.value))" }
    #expect(actualKeys == expectedKeys)
    let expectedTensors = lines.filter { $0.hasPrefix("tensor ") }
    #expect(file.tensors.count == expectedTensors.count)
    for (info, line) in zip(file.tensors, expectedTensors) {
      let fields = line.split(separator: " ").map(String.init)
      let tensor = file.tensor(info)
      let raw = tensor.withUnsafeBytes { SHA256.hex(of: $0) }
      let shape = "[" + info.shape.dimensions.map(String.init).joined(separator: ",") + "]"
      #expect(fields[1] == info.name)
      #expect(fields[2] == String(info.type.rawValue))
      #expect(fields[3] == shape, "\(info.name)")
      #expect(fields[4] == raw, "\(info.name) bytes")
      if fields[5] != "-", Dequantizer.supports(info.dtype) {
        let floats = try Dequantizer.decode(tensor: tensor)
        #expect(fields[5] == floats.withUnsafeBytes { SHA256.hex(of: $0) }, "\(info.name) F32")
      }
    }
  }

  @Test(
    "a file written by emoe-pack reads in gguf-py with equal metadata, types and bytes",
    .enabled(if: Oracles.python(["numpy", "gguf"])))
  func pythonReadsOurFile() throws {
    try PythonOracle.require(["numpy", "gguf"])
    let folder = try TemporaryDirectory()
    let path = folder.file("ours.gguf")
    let tensors = GGUFTestSupport.sampleTensors()
    try GGUFWriter.write(to: path, metadata: GGUFTestSupport.sampleMetadata, tensors: tensors)
    let lines = try PythonOracle.check(Self.readerScript, arguments: [path])
      .split(separator: "\n").map(String.init)
    #expect(lines.first == "alignment 64")
    let expectedKeys = GGUFTestSupport.sampleMetadata.map {
      "kv \($0.key) \(GGUFTestSupport.canonical($0.value))"
    }
    #expect(lines.filter { $0.hasPrefix("kv ") } == expectedKeys)
    let expectedTensors = tensors.map { tensor in
      let type = GGUFTensorType(dtype: tensor.dtype)!.rawValue
      let shape = "[" + tensor.shape.dimensions.map(String.init).joined(separator: ",") + "]"
      return "tensor \(tensor.name) \(type) \(shape) "
        + tensor.withUnsafeBytes { SHA256.hex(of: $0) }
    }
    #expect(lines.filter { $0.hasPrefix("tensor ") } == expectedTensors)
  }
}
