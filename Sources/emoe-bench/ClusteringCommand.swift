import ArgumentParser

/// `emoe-bench clustering layers|sweep|synthetic`: balanced k-means on real FFN keys and on a
/// synthetic LLaMA-7B-shaped layer.
struct ClusteringCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "clustering",
    abstract: "Time balanced k-means on real FFN keys and on a synthetic layer.",
    subcommands: [Layers.self, Sweep.self, Synthetic.self])

  /// The options every mode takes.
  struct Common: ParsableArguments {
    @Flag(name: .customLong("no-local-improvement"), help: "Turn the pairwise-swap pass off.")
    var noLocalImprovement = false
  }

  /// `layers MANIFEST [--restarts N] [--model NAME]`: each layer of the key manifest.
  struct Layers: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Cluster each layer of a key manifest (clustering_keys.py extract).")

    @Argument(help: "The manifest.json of the extracted keys.")
    var manifest: String

    @Option(help: "Restarts per layer (default: by layer size).")
    var restarts: Int?

    @Option(help: "Only the layers of this model.")
    var model: String?

    @OptionGroup var common: Common

    func run() throws {
      for entry in try ClusteringBench.manifest(manifest, model: model) {
        try ClusteringBench.measure(
          entry, restarts: restarts, local: !common.noLocalImprovement)
      }
    }
  }

  /// `sweep MANIFEST --restarts 1,3,10,30 [--model NAME]`: each layer at each restart count.
  struct Sweep: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Cluster each layer of a key manifest at each restart count.")

    @Argument(help: "The manifest.json of the extracted keys.")
    var manifest: String

    @Option(help: "The restart counts.")
    var restarts = IntegerList([1, 3, 10, 30])

    @Option(help: "Only the layers of this model.")
    var model: String?

    @OptionGroup var common: Common

    func run() throws {
      let entries = try ClusteringBench.manifest(manifest, model: model)
      for restarts in restarts.values {
        for entry in entries {
          try ClusteringBench.measure(
            entry, restarts: restarts, local: !common.noLocalImprovement)
        }
      }
    }
  }

  /// `synthetic [--rows R] [--cols C] [--experts E] [--restarts N] [--structure S]
  /// [--write FILE]`: LLaMA-7B-shaped random keys.
  struct Synthetic: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Cluster LLaMA-7B-shaped random keys with a latent cluster structure.")

    @Option(help: "Keys (neurons).")
    var rows = 11008

    @Option(help: "Key dimension.")
    var cols = 4096

    @Option(help: "Experts, and latent directions.")
    var experts = 64

    @Option(help: "Restarts (default: by layer size).")
    var restarts: Int?

    @Option(help: "Weight of the latent directions: 0.3 clear clusters, 0 isotropic.")
    var structure = 0.3

    @Option(help: "Save the keys as raw F32, for the reference.")
    var write: String?

    @OptionGroup var common: Common

    func run() throws {
      try ClusteringBench.synthetic(
        rows: rows, cols: cols, experts: experts, restarts: restarts, structure: structure,
        write: write, local: !common.noLocalImprovement)
    }
  }
}
