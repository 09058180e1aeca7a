// emoe-bench: release-build benchmarks that print one JSON object per measurement on stdout.
// scripts/bench.sh runs them beside their Python peers and updates docs/benchmarks.md.

let arguments = Array(CommandLine.arguments.dropFirst())
let name = arguments.first ?? ""
let rest = Array(arguments.dropFirst())

switch name {
case "safetensors-read": try SafeTensorsBench.run(rest)
case "gguf-codecs": try GGUFCodecsBench.run(rest)
case "container": try ContainerBench.run(rest)
case "clustering": try ClusteringBench.run(rest)
case "runner": try RunnerBench.run(rest)
case "hash": try HashBench.run(rest)
default:
  print(
    "usage: emoe-bench safetensors-read|gguf-codecs|container|clustering|runner|hash [arguments]")
}
