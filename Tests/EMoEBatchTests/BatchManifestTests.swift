import EMoEBatch
import EMoEConvert
import EMoECore
import EMoETestSupport
import Foundation
import Testing

@Suite("Batch manifests: parsing, defaults, and errors that name the line and key")
struct BatchManifestTests {
  /// Parses `text` as the manifest `batch.json` of a workspace holding bert-tiny and gpt2-tiny.
  static func parse(_ text: String, in workspace: BatchWorkspace) throws(BatchManifestError)
    -> BatchManifest
  {
    try BatchManifest(text: Array(text.utf8), path: workspace.manifest)
  }

  /// The error `text` is rejected with (recording an issue when it is accepted).
  static func rejection(_ text: String, in workspace: BatchWorkspace, plans: Bool = true)
    -> BatchManifestError?
  {
    do {
      let manifest = try parse(text, in: workspace)
      if plans { try manifest.checkPlans() }
      Issue.record("the manifest was accepted:\n\(text)")
      return nil
    } catch {
      return error
    }
  }

  @Test("defaults apply to every job, a job's keys override them, and paths are manifest-relative")
  func defaultsAndPaths() throws {
    let workspace = try BatchWorkspace(models: ["bert-tiny", "gpt2-tiny"])
    let manifest = try Self.parse(
      """
      {
        "$schema": "../Formats/emoe-batch.schema.json",
        "defaults": {"experts": 16, "quantize": "int8", "verify": true, "compress": true},
        "jobs": [
          {"input": "bert-tiny/model.safetensors", "output": "out/a.emoe", "top-k": 4},
          {"input": "gpt2-tiny/model.safetensors", "output": "/tmp/abs.emoe", "experts": null,
           "verify": false, "compress": 7, "cluster-on": "up", "seed": 3, "allow-uneven": true,
           "gate-bias": true, "restarts": 2, "layers": "last:1", "threads": 1,
           "export": [{"to": "safetensors", "output": "out/b-hf", "layout": "experts"},
                      {"to": "gguf", "output": "out/b.gguf", "top-k": 2}],
           "depfile": "out/b.d"}
        ]
      }
      """, in: workspace)
    #expect(manifest.jobs.count == 2)
    let first = manifest.jobs[0]
    #expect(first.input == workspace.file("bert-tiny/model.safetensors"))
    #expect(first.output == workspace.file("out/a.emoe"))
    #expect(first.options.experts == 16)
    #expect(first.options.topK == 4)
    #expect(first.options.quantize == .int8)
    #expect(first.options.compressionLevel == ConversionOptions.defaultCompressionLevel)
    #expect(first.verify)
    #expect(first.optionKeys["experts"] == "defaults.experts")
    #expect(first.optionKeys["top-k"] == "jobs[0].top-k")
    let second = manifest.jobs[1]
    #expect(second.output == "/tmp/abs.emoe")
    #expect(second.options.experts == nil)
    #expect(second.options.topK == nil)
    #expect(!second.verify)
    #expect(second.options.compressionLevel == 7)
    #expect(second.options.clusterOn == .up)
    #expect(second.options.seed == 3)
    #expect(second.options.allowUneven && second.options.routerBias)
    #expect(second.options.restarts == 2 && second.options.layers == "last:1")
    #expect(second.options.threads == 1)
    #expect(second.depfile == workspace.file("out/b.d"))
    #expect(
      second.exports == [
        BatchExport(format: .safetensors, output: workspace.file("out/b-hf"), layout: .experts),
        BatchExport(format: .gguf, output: workspace.file("out/b.gguf"), topK: 2),
      ])
  }

  @Test("bad JSON is reported at the line and column Python's json module reports")
  func badJSON() throws {
    let workspace = try BatchWorkspace(models: [])
    let cases: [(String, Int, Int)] = [
      ("{\n  \"jobs\": [\n    {\"input\": \"a\", \"output\": \"x.emoe\",}\n  ]\n}", 3, 39),
      ("{\n  \"jobs\" [1]\n}", 2, 10),
      ("{\n  \"jobs\": [\n    {\"input\": \"é\", \"output\": \"x.emoe\"} x\n  ]\n}", 3, 40),
      ("{\"jobs\": [\n\n  {\"input\": \"a\", \"output\": \"unterminated}\n]}", 3, 42),
    ]
    // Python's json module is part of every python3; under make test a missing python3 fails.
    let oracle = try PythonOracle.available(["json"])
    for (text, line, column) in cases {
      guard let error = Self.rejection(text, in: workspace, plans: false) else { continue }
      #expect(error.line == line && error.column == column, "\(error)")
      #expect(error.description.hasPrefix("\(workspace.manifest):\(line):\(column): invalid JSON"))
      if oracle {
        let python = try PythonOracle.check(
          """
          import json, sys
          try:
              json.loads(sys.argv[1])
          except json.JSONDecodeError as e:
              print(e.lineno, e.colno)
          """, arguments: [text])
        #expect(python.trimmingCharacters(in: .whitespacesAndNewlines) == "\(line) \(column)")
      }
    }
    let duplicate = Self.rejection("{\n \"jobs\": [],\n \"jobs\": []\n}", in: workspace)
    #expect(duplicate?.line == 3)
    #expect(duplicate?.reason == "duplicate key 'jobs'")
  }

  @Test("a value of the wrong type or range names its key path and line")
  func wrongTypes() throws {
    let workspace = try BatchWorkspace(models: ["bert-tiny"])
    let job = #"{"input": "bert-tiny/model.safetensors", "output": "a.emoe"}"#
    let cases: [(String, String, String, Int)] = [
      (#""top-k": "4""#, "jobs[2].top-k", #"must be an integer, not the string "4""#, 6),
      (#""experts": 2.5"#, "jobs[2].experts", "must be an integer, not 2.5", 6),
      (#""experts": 0"#, "jobs[2].experts", "must be at least 1, not 0", 6),
      (#""quantize": "int4""#, "jobs[2].quantize", #"must be one of "none", "int8", "q8_0""#, 6),
      (#""verify": "yes""#, "jobs[2].verify", "must be true or false", 6),
      (#""gate-bias": 1"#, "jobs[2].gate-bias", "must be true or false", 6),
      (#""compress": "fast""#, "jobs[2].compress", "must be true, false or a zstd level", 6),
      (#""layers": "last:x""#, "jobs[2].layers", "last:x", 6),
      (#""export": [{"to": "onnx", "output": "x"}]"#, "jobs[2].export[0].to", "must be one of", 18),
      (
        #""export": [{"to": "gguf", "output": "x", "layout": "experts"}]"#,
        "jobs[2].export[0].layout", "safetensors", 47
      ),
    ]
    for (member, key, reason, column) in cases {
      let text = """
        {
          "jobs": [
            {"input": "bert-tiny/model.safetensors", "output": "0.emoe"},
            {"input": "bert-tiny/model.safetensors", "output": "1.emoe"},
            {"input": "bert-tiny/model.safetensors", "output": "2.emoe",
             \(member)}
          ]
        }
        """
      guard let error = Self.rejection(text, in: workspace) else { continue }
      #expect(error.keyPath == key, "\(error)")
      #expect(error.line == 6 && error.column == column, "\(error)")
      #expect(error.reason.contains(reason), "\(error)")
      #expect(error.description.contains("batch.json:6:\(column): \(key): "), "\(error)")
    }
    let notObject = Self.rejection(#"{"jobs": [\#(job), 3]}"#, in: workspace)
    #expect(notObject?.keyPath == "jobs[1]")
    let noJobs = Self.rejection(#"{"defaults": {}}"#, in: workspace)
    #expect(noJobs?.reason == #"missing key "jobs""#)
    let noOutput = Self.rejection(
      #"{"jobs": [{"input": "bert-tiny/model.safetensors"}]}"#, in: workspace)
    #expect(noOutput?.keyPath == "jobs[0]" && noOutput?.reason == #"missing key "output""#)
  }

  @Test("an unknown key is rejected with the list of convert's option names")
  func unknownKeys() throws {
    let workspace = try BatchWorkspace(models: ["bert-tiny"])
    let typo = Self.rejection(
      """
      {"jobs": [
        {"input": "bert-tiny/model.safetensors", "output": "a.emoe",
         "topk": 4}]}
      """, in: workspace)
    #expect(typo?.keyPath == "jobs[0].topk")
    #expect(typo?.line == 3)
    #expect(typo?.reason.contains("top-k") == true)
    let json = Self.rejection(
      #"{"jobs": [{"input": "bert-tiny/model.safetensors", "output": "a.emoe", "json": true}]}"#,
      in: workspace)
    #expect(json?.keyPath == "jobs[0].json")
    let inDefaults = Self.rejection(
      #"{"defaults": {"output": "x"}, "jobs": []}"#, in: workspace)
    #expect(inDefaults?.keyPath == "defaults.output")
    let topLevel = Self.rejection(#"{"job": []}"#, in: workspace)
    #expect(topLevel?.keyPath == "job")
  }

  @Test("a missing input is rejected, naming the job's input key")
  func missingInput() throws {
    let workspace = try BatchWorkspace(models: ["bert-tiny"])
    let error = Self.rejection(
      """
      {"jobs": [
        {"input": "bert-tiny/model.safetensors", "output": "a.emoe"},
        {"input": "bert-tiny/nothing.safetensors", "output": "b.emoe"}]}
      """, in: workspace)
    #expect(error?.keyPath == "jobs[1].input")
    #expect(error?.line == 3 && error?.column == 4)
    #expect(error?.reason.contains("input not found") == true)
  }

  @Test("one output path written twice, however spelled, or an input overwritten, is rejected")
  func duplicateOutputs() throws {
    let workspace = try BatchWorkspace(models: ["bert-tiny", "gpt2-tiny"])
    let bert = "bert-tiny/model.safetensors"
    let gpt2 = "gpt2-tiny/model.safetensors"
    let same = Self.rejection(
      #"{"jobs": [{"input": "\#(bert)", "output": "out/a.emoe"}, {"input": "\#(gpt2)", "output": "./out/../out/a.emoe"}]}"#,
      in: workspace)
    #expect(same?.keyPath == "jobs[1].output")
    #expect(same?.reason.contains("duplicate output path") == true)
    #expect(same?.reason.contains("jobs[0].output") == true)
    let export = Self.rejection(
      #"{"jobs": [{"input": "\#(bert)", "output": "a.emoe"}, {"input": "\#(gpt2)", "output": "b.emoe", "export": [{"to": "gguf", "output": "a.emoe"}]}]}"#,
      in: workspace)
    #expect(export?.keyPath == "jobs[1].export[0].output")
    let input = Self.rejection(
      #"{"jobs": [{"input": "\#(bert)", "output": "a.emoe"}, {"input": "\#(gpt2)", "output": "\#(bert)"}]}"#,
      in: workspace)
    #expect(input?.keyPath == "jobs[1].output")
    let config = Self.rejection(
      #"{"jobs": [{"input": "\#(bert)", "output": "bert-tiny/config.json"}]}"#, in: workspace)
    #expect(config?.keyPath == "jobs[0].output")
    #expect(config?.reason.contains("would overwrite a file read by jobs[0].input") == true)
  }

  @Test("options that do not fit the model are rejected at the key that set them")
  func planErrors() throws {
    let workspace = try BatchWorkspace(models: ["bert-tiny"])
    let own = Self.rejection(
      #"{"jobs": [{"input": "bert-tiny/model.safetensors", "output": "a.emoe", "experts": 7}]}"#,
      in: workspace)
    #expect(own?.keyPath == "jobs[0].experts")
    #expect(own?.reason.contains("not a multiple of 7 experts") == true)
    let inherited = Self.rejection(
      #"{"defaults": {"experts": 5}, "jobs": [{"input": "bert-tiny/model.safetensors", "output": "a.emoe"}]}"#,
      in: workspace)
    #expect(inherited?.keyPath == "defaults.experts")
    #expect(inherited?.reason.hasPrefix("in jobs[0]: ") == true)
    let topK = Self.rejection(
      #"{"jobs": [{"input": "bert-tiny/model.safetensors", "output": "a.emoe", "experts": 4, "top-k": 5}]}"#,
      in: workspace)
    #expect(topK?.keyPath == "jobs[0].top-k")
    let layers = Self.rejection(
      #"{"jobs": [{"input": "bert-tiny/model.safetensors", "output": "a.emoe", "layers": "7"}]}"#,
      in: workspace)
    #expect(layers?.keyPath == "jobs[0].layers")
    let gguf = Self.rejection(
      #"{"jobs": [{"input": "bert-tiny/model.safetensors", "output": "a.emoe", "export": [{"to": "gguf", "output": "a.gguf"}]}]}"#,
      in: workspace)
    #expect(gguf?.keyPath == "jobs[0].export[0].to")
  }
}
