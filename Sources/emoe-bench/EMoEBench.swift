import ArgumentParser

/// `emoe-bench`: release-build benchmarks that print one JSON object per measurement on stdout.
///
/// scripts/bench/*.sh run them beside their Python peers; docs/benchmarks.md records the figures.
@main
struct EMoEBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "emoe-bench",
    abstract: "Benchmarks of emoe-pack, printing one JSON object per measurement on stdout.",
    subcommands: [
      SafeTensorsReadCommand.self, GGUFCodecsCommand.self, ContainerCommand.self,
      ClusteringCommand.self, RunnerCommand.self, HashCommand.self,
    ]
  )
}
