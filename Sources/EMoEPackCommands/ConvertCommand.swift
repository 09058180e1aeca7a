import ArgumentParser
import EMoECalibrate
import EMoEConvert
import EMoECore
import EMoEFormats
import EMoEModel
import Logging

/// `emoe-pack convert IN OUT.emoe`: converts a dense model into an EMoE `.emoe` container.
///
/// Parsing and printing only; the pipeline is ``EMoEConvert/ConversionPlan`` and
/// ``EMoEConvert/Converter``.
struct ConvertCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "convert",
    abstract: "Convert a dense transformer checkpoint into an EMoE .emoe container.",
    discussion: """
      IN is a .safetensors file, a sharded checkpoint (its model.safetensors.index.json or its \
      folder) or a GGUF file; a config.json beside a safetensors input is read for the \
      architecture and activation.

      Defaults follow the EMoE paper for the detected family: BERT/RoBERTa/ViT/GPT-2 get \
      E = 16, top-k = 4 on the last two layers; LLaMA/Mistral/Qwen and GGUF llama models get \
      E = 64, top-k = E/4 on every second layer from the middle (from:L/2/every:2). When E does \
      not divide n it is halved until it does. --experts without --top-k gives top-k = E/4.

      --layers takes all, 10,11, 4-7, last:2, from:16/every:2, or a comma-separated mix. \
      --compress alone uses zstd level 3; --compress=LEVEL sets the level.

      OUT and --depfile must be new paths or regular writable files, and none may be, or \
      resolve to, an input file (shard, index, config.json) or each other; the depfile's paths \
      are escaped for Make, and a path Make cannot read (newline, ';', '=', ...) is refused.

      Exit codes: 0 success; 1 I/O failure; 2 the model does not fit the options, \
      config.json contradicts the tensors, or an output path is refused (the message names the \
      layer and tensor, the key, or the path; no output is written); 8 a tensor to be converted \
      or copied holds NaN or infinity; 64 usage error, including an option value that is \
      invalid whatever the model (--experts 0, --top-k 0, --restarts 0, --compress=99, \
      --layers 2-1).
      """)

  @Argument(
    help: "The dense model: .safetensors, a sharded checkpoint (index or folder), or .gguf.")
  var input: String

  @Argument(help: "The .emoe container to write.")
  var output: String

  // Names and help come from ConversionOptions.descriptors, the one table of conversion
  // options (ConvertCommandOptionTableTests checks this list against it).
  @Option(name: .customLong("experts"), help: Self.help("experts"))
  var experts: Int?

  @Option(name: .customLong("top-k"), help: Self.help("top-k"))
  var topK: Int?

  @Option(name: .customLong("layers"), help: Self.help("layers"))
  var layers: String?

  @Option(name: .customLong("cluster-on"), help: Self.help("cluster-on"))
  var clusterOn: LayerFFN.KeyMatrix = .gate

  @Option(name: .customLong("quantize"), help: Self.help("quantize"))
  var quantize: ExpertQuantization = .none

  @Option(name: .customLong("compress"), help: Self.help("compress", valueName: "level"))
  var compress: Int?

  @Option(name: .customLong("seed"), help: Self.help("seed"))
  var seed: Int = 0

  @Option(name: .customLong("threads"), help: Self.help("threads"))
  var threads: Int?

  @Option(name: .customLong("ffn-pattern"), help: Self.help("ffn-pattern"))
  var ffnPattern: String?

  @Option(name: .customLong("restarts"), help: Self.help("restarts"))
  var restarts: Int?

  @Flag(name: .customLong("allow-uneven"), help: Self.help("allow-uneven"))
  var allowUneven = false

  @Flag(name: .customLong("router-bias"), help: Self.help("router-bias"))
  var routerBias = false

  @Option(name: .customLong("shared-neurons"), help: Self.help("shared-neurons", valueName: "N|P%"))
  var sharedNeurons: String?

  @Option(name: .customLong("calibration"), help: Self.help("calibration", valueName: "file"))
  var calibration: String?

  @Option(name: .customLong("calibration-tokens"), help: Self.help("calibration-tokens"))
  var calibrationTokens: Int?

  @Option(
    name: .customLong("max-ppl-increase"), help: Self.help("max-ppl-increase", valueName: "P"))
  var maxPerplexityIncrease: String?

  @Option(name: .customLong("min-cosine"), help: Self.help("min-cosine", valueName: "C"))
  var minCosine: String?
  @Option(help: Self.help("router"))
  var router: RouterKind = .averageKey

  /// `--gate-bias`, the old spelling of `--router-bias`, still accepted but not shown.
  @Flag(name: .customLong("gate-bias"), help: .hidden)
  var gateBias = false

  @Option(help: "Write a Make dependency file: OUT.emoe: IN [shards...] [config.json].")
  var depfile: String?

  @Flag(help: "Print one JSON summary on stdout.")
  var json = false

  @OptionGroup var global: GlobalOptions

  /// The options as the library takes them.
  var options: ConversionOptions {
    ConversionOptions(
      experts: experts, topK: topK, layers: layers,
      clusterOn: clusterOn, quantize: quantize, compressionLevel: compress,
      seed: seed, threads: threads, ffnPattern: ffnPattern, restarts: restarts,
      allowUneven: allowUneven, routerBias: routerBias || gateBias,
      sharedNeurons: sharedNeurons.flatMap(SharedNeurons.init), calibration: calibration,
      calibrationTokens: calibrationTokens,
      maxPerplexityIncrease: maxPerplexityIncrease.flatMap(ConversionOptions.fraction),
      minCosine: minCosine.flatMap(ConversionOptions.fraction), router: router)
  }

  func validate() throws {
    if let sharedNeurons, SharedNeurons(sharedNeurons) == nil {
      throw ValidationError(
        "--shared-neurons must be a count N >= 0 or a percentage P% with 0 <= P < 100, not "
          + "'\(sharedNeurons)'")
    }
    for (flag, value) in [
      ("--max-ppl-increase", maxPerplexityIncrease), ("--min-cosine", minCosine),
    ] {
      if let value, ConversionOptions.fraction(value) == nil {
        throw ValidationError(
          "\(flag) must be a number (0.2) or a percentage (20%), not '\(value)'")
      }
    }
    do {
      try options.validate()
    } catch {
      throw ValidationError("\(error)")
    }
  }

  /// The conversion plan; with `--calibration`, after calibration has grouped each layer's
  /// neurons and, given a bound, chosen the layers and their top-k.
  private func plan(logger: Logger) throws -> ConversionPlan {
    guard let request = CalibrationRequest(options: options) else {
      return try ConversionPlan(input: input, options: options)
    }
    let candidates = try ConversionPlan(input: input, options: options.calibrationCandidates)
    try OutputSafety.check(
      inputs: (candidates.dependencies + [request.text]).map { ($0, "the input \($0)") },
      outputs: [(output, "the output")] + (depfile.map { [($0, "--depfile")] } ?? []))
    let progress = ProgressLine(enabled: global.showsProgress)
    let result = try Calibrator.calibrate(plan: candidates, request: request) { step in
      logger.debug("calibration: \(step)")
      progress.update(
        ProgressLine.Step(label: "calibrating: " + step, done: 0, total: 0, countsBytes: false))
    }
    progress.finish()
    logger.info(
      "calibration on \(request.text): dense \(result.dense), chosen \(result.value), \(result.groupings.count) layers, \(Int((result.activeFraction * 1000).rounded()) / 10) % of their FFN neurons active"
    )
    var plan = try ConversionPlan(input: input, options: options, groupings: result.groupings)
    plan.calibration = result.record
    return plan
  }

  func run() throws {
    let logger = global.makeLogger()
    try CommandFailure.report {
      let progress = ProgressLine(enabled: global.showsProgress)
      do {
        let plan = try self.plan(logger: logger)
        try OutputSafety.check(
          inputs: plan.dependencies.map { ($0, "the input \($0)") },
          outputs: [(output, "the output")] + (depfile.map { [($0, "--depfile")] } ?? []))
        if depfile != nil {
          // Checked now so that a path Make cannot read fails before the conversion.
          _ = try DependencyFile.text(target: output, prerequisites: plan.dependencies)
        }
        logger.info("\(plan.architecture.summary)")
        logger.info(
          "converting layers \(plan.layers.map(\.index).sorted()) into \(plan.experts) experts, top-\(plan.topK)"
        )
        let converter = Converter(
          plan: plan, tool: ContainerTool(name: "emoe-pack", version: EMoEPackVersion.string))
        var summary = try converter.run(output: output) { progress.update($0) }
        progress.finish()
        for layer in summary.layers {
          logger.debug(
            "layer \(layer.layer): \(layer.experts) experts, SSE \(layer.sse), \(layer.iterations) iterations, \(layer.seconds) s"
          )
        }
        if let depfile {
          try DependencyFile.write(to: depfile, target: output, prerequisites: plan.dependencies)
        }
        logger.info(
          "wrote \(output) (\(ByteCount.format(summary.bytesOut))) in \(ProgressLine.format(summary.seconds))"
        )
        if json {
          // Only the summary needs the output's digest; the cache hashes each input only once.
          do throws(FileError) {
            summary.sha256 = try FileDigests.shared.sha256(ofFile: output)
          } catch {
            throw ConversionError.io(error)
          }
          print(summary.json.prettySerialized())
        }
      } catch let error as ConversionError {
        progress.finish()
        CommandFailure.printError("\(error)")
        throw error.isIOFailure
          ? ExitStatus.failure : error.isNonFinite ? ExitStatus.nonFinite : ExitStatus.invalidInput
      }
    }
  }

  /// The help of conversion option `--name`, from ``EMoEConvert/ConversionOptions/descriptors``.
  static func help(_ name: String, valueName: String? = nil) -> ArgumentHelp {
    ArgumentHelp(ConversionOptions.descriptor(name)?.help ?? "", valueName: valueName)
  }

  /// Rewrites a bare `--compress` (no `=LEVEL`) into `--compress=3`, so the option's value is
  /// optional the way GNU tools make it: only `--compress=LEVEL` sets a level.
  ///
  /// Also joins a long option and a negative number after it (`--tolerance -1` into
  /// `--tolerance=-1`): argument-parser would take `-1` for a short flag and report a missing
  /// value, and the message must name the value the user gave. No emoe-pack flag is a digit.
  static func normalizingArguments(_ arguments: [String]) -> [String] {
    var result: [String] = []
    var afterTerminator = false
    var index = 0
    while index < arguments.count {
      let argument = arguments[index]
      index += 1
      if argument == "--" { afterTerminator = true }
      if !afterTerminator && argument == "--compress" {
        result.append("--compress=\(ConversionOptions.defaultCompressionLevel)")
      } else if !afterTerminator, argument.hasPrefix("--"), argument.count > 2,
        !argument.contains("="), index < arguments.count,
        isNegativeNumber(arguments[index])
      {
        result.append(argument + "=" + arguments[index])
        index += 1
      } else {
        result.append(argument)
      }
    }
    return result
  }

  /// Whether `text` reads as a negative number (`-1`, `-0.5`, `-1e-3`).
  private static func isNegativeNumber(_ text: String) -> Bool {
    guard text.hasPrefix("-"), text.count > 1 else { return false }
    let rest = text.dropFirst()
    guard let first = rest.first, first.isASCII, first.isNumber || first == "." else {
      return false
    }
    return Double(rest) != nil
  }
}
