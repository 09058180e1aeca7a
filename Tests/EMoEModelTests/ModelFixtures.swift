import EMoECore
import EMoEFormats
import EMoETestSupport

/// Opens the fixture models and writes small safetensors files with Python for error cases.
enum ModelFixtures {
  /// `Fixtures/models/<name>` (the folder, so config.json is found).
  static func path(_ name: String) -> String { TestPaths.fixtures + "/models/" + name }

  /// The fixture model `name` as a model source.
  static func open(_ name: String) throws -> SafeTensorsCheckpoint {
    try SafeTensorsCheckpoint(path: path(name))
  }

  /// Writes `model.safetensors` (and config.json when `config` is given) into `folder` with
  /// numpy and safetensors; `tensors` is a Python dict expression over `np` and `rng`.
  static func write(folder: String, tensors: String, config: String? = nil) throws {
    var script = """
      import json, sys, numpy as np
      from safetensors.numpy import save_file
      rng = np.random.default_rng(5)
      save_file(\(tensors), sys.argv[1] + '/model.safetensors')
      """
    if let config {
      script += "\nopen(sys.argv[1] + '/config.json', 'w').write(json.dumps(\(config)))"
    }
    _ = try PythonOracle.check(script, arguments: [folder])
  }

  /// A BERT-shaped two-layer FFN as a Python dict expression, with `override` merged in last.
  static func bertTensors(n: Int = 64, d: Int = 16, override: String = "{}") -> String {
    """
    {**{f'encoder.layer.{i}.{k}': v for i in range(2) for k, v in {
        'intermediate.dense.weight': rng.standard_normal((\(n), \(d))).astype(np.float32),
        'intermediate.dense.bias': np.zeros(\(n), np.float32),
        'output.dense.weight': rng.standard_normal((\(d), \(n))).astype(np.float32),
        'output.dense.bias': np.zeros(\(d), np.float32)}.items()}, **\(override)}
    """
  }
}
