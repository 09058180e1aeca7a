import EMoECore
import EMoEFormats
import EMoETestSupport
import Foundation
import Testing

/// `export --to hf` of the LLaMA-like families `run --model` computes (Mistral, Qwen2, Qwen3,
/// Gemma, Gemma 2) and the plain-FFN decoders GPT-NeoX and OPT, on TinyDecoders' seeded models: transformers loads the folder as the
/// family's EMoE class, equals `emoe-pack run --model` at k < E and transformers' own float64
/// logits of the dense model (`logits.f32`) at k = E; Gemma 3 is refused by name.
@Suite("emoe-pack export --to hf: Mistral, Qwen2, Qwen3, Gemma, Gemma 2, GPT-NeoX, OPT")
struct HuggingFaceFamilyExportTests {
  static let modules = ["torch", "transformers", "safetensors", "numpy"]

  /// The transformers class prefix of each family (`Qwen2` of `Qwen2ForCausalLM`).
  static let classPrefixes = [
    "mistral": "Mistral", "qwen2": "Qwen2", "qwen3": "Qwen3", "gemma": "Gemma",
    "gemma2": "Gemma2", "gpt_neox": "GPTNeoX", "opt": "OPT",
  ]

  /// The fixture's relative errors of one container's export.
  struct Errors: CustomStringConvertible {
    var layers: String
    var atK: Double
    var atE: Double
    var sparseVsDense: Double
    var description: String {
      "layers \(layers): k=2 vs run --model \(atK), k=E vs transformers \(atE), "
        + "k=2 vs dense \(sparseVsDense)"
    }
  }

  @Test(
    "all layers and layer 1, E = 4: run --model at k = 2, transformers' dense logits at k = E",
    .enabled(if: Oracles.python(modules)),
    arguments: ["mistral", "qwen2", "qwen3", "gemma", "gemma2", "gpt_neox", "opt"])
  func family(_ family: String) throws {
    try PythonOracle.require(Self.modules)
    let prefix = try #require(Self.classPrefixes[family])
    let directory = try TemporaryDirectory()
    let model = try TinyDecoders.make(family, in: directory)
    let logits = model + "/logits.f32"
    let ids = directory.file("ids.safetensors")
    _ = try ExportSteps.oracle(
      "hf_oracle.py", ["tokens", ids, TinyDecoders.tokens.map(String.init).joined(separator: ",")])

    var groups: [String] = []
    var subsets: [(layers: String, folder: String, count: Int)] = []
    for (layers, count) in [("all", 2), ("1", 1)] {
      let name = layers == "all" ? "all" : "l" + layers
      let container = directory.file(name + ".emoe")
      try ExportSteps.convert(
        model, to: container,
        ["--experts", "4", "--top-k", "2", "--layers", layers, "--restarts", "1"])
      let folder = directory.file(name + "-hf")
      let summary = try JSONValue.parse(
        try ExportSteps.export(container, to: folder, as: "hf", ["--json"]).stdout)
      #expect(summary["model_type"]?.stringValue == "emoe_" + family)
      #expect(
        summary["auto_map"]?["AutoModelForCausalLM"]?.stringValue
          == "modeling_emoe.EMoE\(prefix)ForCausalLM")
      let run = directory.file(name + "-k2.safetensors")
      try ExportSteps.pack([
        "run", container, "--model", "--inputs", ids, "--out", run, "--quiet",
      ])
      groups += [
        folder, ids, "run:stored:" + run, "dense:stored:" + logits, "dense:k4:" + logits,
        "dense:dense:" + logits, "+",
      ]
      subsets.append((layers, folder, count))
    }
    let config = try JSONValue.parse(
      try String(contentsOfFile: subsets[0].folder + "/config.json", encoding: .utf8))
    // The family's own configuration is kept beside emoe_layers.
    #expect(config["architectures"] == .array([.string("EMoE\(prefix)ForCausalLM")]))
    switch family {
    case "gpt_neox":
      #expect(config["rope_parameters"]?["partial_rotary_factor"]?.doubleValue == 0.5)
      #expect(config["use_parallel_residual"] == .bool(true))
    case "opt": #expect(config["ffn_dim"]?.intValue == 256)
    default: #expect(config["num_key_value_heads"]?.intValue == 2)
    }
    #expect(config["emoe_layers"]?["1"]?["experts"]?.intValue == 4)
    if family == "qwen3" { #expect(config["head_dim"]?.intValue == 24) }
    if family == "gemma2" { #expect(config["final_logit_softcapping"]?.doubleValue == 3.0) }

    let reports = try #require(
      try JSONValue.parse(try ExportSteps.oracle("hf_oracle.py", ["batch"] + groups.dropLast()))
        .arrayValue)
    try #require(reports.count == subsets.count, "\(reports)")
    var measured: [Errors] = []
    for (report, subset) in zip(reports, subsets) {
      let label = "\(family) layers \(subset.layers)"
      for mode in ["stored", "k4"] {
        let entry = report[mode]
        #expect(entry?["class"]?.stringValue == "EMoE\(prefix)ForCausalLM", "\(label) \(mode)")
        #expect(entry?["emoe_modules"]?.arrayValue?.count == subset.count, "\(label) \(mode)")
        for keys in ["missing_keys", "unexpected_keys", "mismatched_keys"] {
          #expect(entry?[keys]?.arrayValue?.isEmpty == true, "\(label) \(mode) \(keys): \(report)")
        }
      }
      #expect(report["stored"]?["top_k"] == .array([.integer(2)]), "\(label)")
      #expect(report["k4"]?["top_k"] == .array([.integer(4)]), "\(label)")
      #expect(report["dense"]?["class"]?.stringValue == prefix + "ForCausalLM", "\(label)")
      func error(_ mode: String, _ against: String) -> Double {
        report[mode]?["relative_error"]?[against]?.doubleValue ?? .infinity
      }
      let errors = Errors(
        layers: subset.layers, atK: error("stored", "run"), atE: error("k4", "dense"),
        sparseVsDense: error("stored", "dense"))
      #expect(errors.atK <= 1e-4, "\(label): k = 2, transformers vs run --model \(errors)")
      #expect(errors.atE <= 1e-4, "\(label): k = E, transformers vs dense logits \(errors)")
      // The sparse model really is sparse, and the weights are the dense model's.
      #expect(errors.sparseVsDense > 1e-3, "\(label): k = 2 equals the dense model \(errors)")
      let stock = error("dense", "dense")
      #expect(stock <= 1e-4, "\(label): transformers' \(prefix)ForCausalLM \(stock)")
      measured.append(errors)
    }
    print("hf export \(family): \(measured.map(\.description).joined(separator: "; "))")
  }

  @Test(
    "Gemma 3 is refused (exit 2, by name), writing nothing",
    .enabled(if: Oracles.python(modules)))
  func refused() throws {
    try PythonOracle.require(Self.modules)
    let directory = try TemporaryDirectory()
    let gemma3 = try TinyDecoders.make("gemma3", in: directory)
    let container = directory.file("gemma3.emoe")
    try ExportSteps.convert(gemma3, to: container, ["--experts", "4", "--restarts", "1"])
    let output = directory.file("gemma3-hf")
    let refused = try CommandRunner.run(["export", container, output, "--to", "hf"])
    #expect(refused.status == 2, "\(refused.stderr)")
    #expect(
      refused.stderr.contains("model_type 'gemma3_text' is not exported"), "\(refused.stderr)")
    #expect(refused.stderr.contains("run --model does not compute"), "\(refused.stderr)")
    #expect(!FileSystem.exists(output), "a refused export left output")
    #expect(refused.stderr.contains("decoders 'gpt_neox' and 'opt'"), "\(refused.stderr)")
  }
}
