import EMoECore
import EMoETestSupport
import Foundation
import Testing

/// `export --to gguf` for containers converted from safetensors checkpoints, checked by
/// llama.cpp (llama-cpp-python) itself: tiny Mistral and Qwen3 models made by transformers give
/// transformers' float64 logits (Qwen2: Qwen2GGUFExportTests), and SmolLM2 round-tripped through
/// transformers (GGUF → PyTorch → safetensors) exports to the same GGUF as the original.
@Suite("export --to gguf from safetensors checkpoints")
struct SafeTensorsGGUFExportTests {
  static let modules = ["torch", "transformers", "safetensors", "gguf", "llama_cpp"]

  /// Writes a byte-level BPE tokenizer of 96 tokens (94 byte-level characters, `<s>`, `</s>`)
  /// into the tiny model's folder: the tiny models have none, and llama.cpp needs a vocabulary.
  static let tokenizerMaker = #"""
    import json, os, sys
    folder = sys.argv[1]
    vocab = {chr(c): i for i, c in enumerate(range(0x21, 0x21 + 94))}
    added = [dict(id=94 + i, content=t, special=True, single_word=False, lstrip=False,
                  rstrip=False, normalized=False) for i, t in enumerate(["<s>", "</s>"])]
    doc = {"version": "1.0", "added_tokens": added, "normalizer": None,
           "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False,
                             "trim_offsets": True, "use_regex": True},
           "post_processor": None, "decoder": {"type": "ByteLevel"},
           "model": {"type": "BPE", "dropout": None, "unk_token": None, "byte_fallback": False,
                     "vocab": vocab, "merges": [["a", "b"], ["c", "d"]]}}
    json.dump(doc, open(os.path.join(folder, "tokenizer.json"), "w"))
    json.dump({"bos_token": "<s>", "eos_token": "</s>", "add_bos_token": False},
              open(os.path.join(folder, "tokenizer_config.json"), "w"))
    """#

  /// llama.cpp's logits for the tiny models' token ids (F32 KV cache, so the only rounding is
  /// llama.cpp's F32 arithmetic) against transformers' float64 logits: the largest difference
  /// relative to the logits' range.
  static let tinyLogits = #"""
    import json, os, sys
    import numpy as np
    from llama_cpp import Llama
    folder, path, tokens = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    model = Llama(model_path=path, n_ctx=64, logits_all=True, verbose=False, n_threads=1,
                  type_k=0, type_v=0)
    model.eval(tokens)
    got = np.array(model.scores[:len(tokens)], dtype=np.float64)
    want = np.fromfile(os.path.join(folder, "logits.f32"), dtype="<f4").astype(np.float64)
    want = want.reshape(len(tokens), -1)
    assert got.shape == want.shape, (got.shape, want.shape)
    print(json.dumps({"relative": float(np.abs(got - want).max() / (want.max() - want.min())),
                      "n_vocab": model.n_vocab()}))
    """#

  /// Compares two GGUF exports: every tensor (type and bytes) and the tokenizer and
  /// hyperparameter keys with gguf-py; then in llama.cpp the token ids of a text with digits
  /// and punctuation, the logits, and the perplexity of the text.
  static let compareExports = #"""
    import json, sys
    import numpy as np, gguf
    from llama_cpp import Llama
    reference, candidate = sys.argv[1], sys.argv[2]
    a, b = gguf.GGUFReader(reference), gguf.GGUFReader(candidate)
    def value(reader, key):
        field = reader.fields.get(key)
        return None if field is None else (field.types, field.contents())
    # add_space_prefix is llama.cpp's default (false) for gpt2 vocabularies: the Python
    # converter wrote it, this export leaves it out.
    keys = [k for k in a.fields if k.startswith(("tokenizer.", "llama.", "ernie4_5-moe.", "emoe.expert"))
            and k != "tokenizer.ggml.add_space_prefix"]
    differing_keys = [k for k in keys if value(a, k) != value(b, k)]
    ta = {t.name: t for t in a.tensors}
    tb = {t.name: t for t in b.tensors}
    differing = sorted(set(ta) ^ set(tb)) + [
        n for n in ta if n in tb and (ta[n].tensor_type != tb[n].tensor_type
                                      or not np.array_equal(ta[n].data, tb[n].data))]
    text = "In 2024, 17 + 25 = 42 (the answer); café, naïve — 3.14159!\nNew line."
    runs = []
    for path in (reference, candidate):
        model = Llama(model_path=path, n_ctx=128, logits_all=True, verbose=False, n_threads=2,
                      type_k=0, type_v=0)
        ids = model.tokenize(text.encode(), add_bos=True, special=False)
        model.eval(ids)
        logits = np.array(model.scores[:len(ids)], dtype=np.float64)
        shifted = logits - logits.max(axis=1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        nll = -np.mean([logp[i, ids[i + 1]] for i in range(len(ids) - 1)])
        runs.append((ids, logits, float(np.exp(nll))))
    (ids_a, logits_a, ppl_a), (ids_b, logits_b, ppl_b) = runs
    print(json.dumps({
        "keys": len(keys), "differing_keys": differing_keys, "tensors": len(ta),
        "differing_tensors": differing[:10], "ids_equal": ids_a == ids_b, "tokens": len(ids_a),
        "max_logit_difference": float(np.abs(logits_a - logits_b).max()),
        "perplexity": [ppl_a, ppl_b]}))
    """#

  static func convert(_ input: String, _ output: String, _ options: [String]) throws {
    let result = try CommandRunner.run(
      ["convert", input, output, "--restarts", "1", "--quiet"] + options)
    try #require(result.status == 0, "convert \(input): \(result.stderr)")
  }

  @Test(
    "A tiny Mistral and Qwen3 export to GGUF, and llama.cpp's logits equal transformers' at k = E",
    .enabled(if: Oracles.python(modules)), arguments: ["mistral", "qwen3"])
  func tinyModels(family: String) throws {
    try PythonOracle.require(Self.modules)
    let directory = try TemporaryDirectory()
    let folder = try TinyDecoders.make(family, in: directory)
    _ = try PythonOracle.check(Self.tokenizerMaker, arguments: [folder])
    let container = directory.file(family + ".emoe")
    // Layer 0 clustered into 4 experts, layer 1 left dense (split without clustering).
    try Self.convert(folder, container, ["--experts", "4", "--layers", "0"])
    let gguf = directory.file(family + ".gguf")
    let export = try CommandRunner.run([
      "export", container, gguf, "--to", "gguf", "--source", folder,
    ])
    try #require(export.status == 0, "\(export.stderr)")
    let tokens = "[" + TinyDecoders.tokens.map(String.init).joined(separator: ",") + "]"
    let report = try JSONValue.parse(
      try PythonOracle.check(Self.tinyLogits, arguments: [folder, gguf, tokens]))
    let relative = try #require(report["relative"]?.doubleValue)
    // Measured: 1.0e-7 (Mistral), 7.6e-8 (Qwen3); q/k rows left unpermuted give O(1).
    #expect(relative <= 1e-5, "\(family): \(report.serialized())")
    #expect(report["n_vocab"]?.intValue == 96)
  }

  @Test(
    "A missing tokenizer.json exits 2 naming it (Qwen2's refusals: Qwen2GGUFExportTests)",
    .enabled(if: Oracles.python(modules)))
  func refusals() throws {
    try PythonOracle.require(Self.modules)
    let directory = try TemporaryDirectory()
    // The Mistral model without tokenizer files: the container's folder has none either.
    let mistral = try TinyDecoders.make("mistral", in: directory)
    try Self.convert(mistral, directory.file("m.emoe"), ["--experts", "4", "--layers", "0"])
    let missing = try CommandRunner.run([
      "export", directory.file("m.emoe"), directory.file("m.gguf"), "--to", "gguf",
    ])
    #expect(missing.status == 2)
    #expect(missing.stderr.contains("tokenizer.json does not exist"), "\(missing.stderr)")
    #expect(!FileSystem.exists(directory.file("m.gguf")))
  }

  @Test(
    "SmolLM2 round-tripped through transformers exports to the GGUF of the original's conversion",
    .enabled(if: Oracles.python(modules)), .enabled(if: Oracles.smolLM2))
  func smolLM2RoundTrip() throws {
    try PythonOracle.require(Self.modules)
    let original = try #require(try TestPaths.smolLM2())
    let fixtures = TestPaths.repositoryRoot + "/.cache/fixtures/smollm2-roundtrip"
    let maker = try String(
      contentsOfFile: TestPaths.repositoryRoot + "/Tests/Oracles/smollm2_roundtrip.py",
      encoding: .utf8)
    _ = try PythonOracle.check(maker, arguments: [original, fixtures])
    let directory = try TemporaryDirectory()
    // A layer subset: both exports are ernie4_5-moe with dense leading layers 0...27.
    let options = ["--layers", "28,29", "--experts", "16"]
    try Self.convert(fixtures + "/f32.gguf", directory.file("reference.emoe"), options)
    try Self.convert(
      fixtures + "/safetensors/model.safetensors", directory.file("roundtrip.emoe"), options)
    let reference = directory.file("reference.gguf")
    let candidate = directory.file("roundtrip.gguf")
    let first = try CommandRunner.run([
      "export", directory.file("reference.emoe"), reference, "--to", "gguf",
    ])
    try #require(first.status == 0, "\(first.stderr)")
    let second = try CommandRunner.run([
      "export", directory.file("roundtrip.emoe"), candidate, "--to", "gguf", "--source",
      fixtures + "/safetensors",
    ])
    try #require(second.status == 0, "\(second.stderr)")
    let report = try JSONValue.parse(
      try PythonOracle.check(Self.compareExports, arguments: [reference, candidate]))
    let summary = report.serialized()
    #expect(report["differing_keys"] == .array([]), "\(summary)")
    #expect(report["differing_tensors"] == .array([]), "\(summary)")
    #expect((report["keys"]?.intValue ?? 0) >= 20, "\(summary)")
    // 272 source tensors, the dense FFN's three replaced by four MoE tensors in layers 28, 29.
    #expect(report["tensors"]?.intValue == 274, "\(summary)")
    #expect(report["ids_equal"] == .bool(true), "\(summary)")
    // Measured: bit-identical weights, so equal logits and perplexity (difference 0).
    let difference = try #require(report["max_logit_difference"]?.doubleValue)
    #expect(difference <= 1e-6, "\(summary)")
    let perplexity = (report["perplexity"]?.arrayValue ?? []).compactMap { $0.doubleValue }
    try #require(perplexity.count == 2)
    #expect(abs(perplexity[0] - perplexity[1]) <= 1e-9 * perplexity[0], "\(summary)")
  }
}
