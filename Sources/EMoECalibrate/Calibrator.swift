import EMoEConvert
import EMoECore
import EMoEEvaluate
import EMoEModel
import EMoERunner
import EMoETokenizers
import EMoEVerify

/// `convert --calibration`: runs the dense model on a calibration text, groups each planned
/// layer's neurons from what it saw (an always-active shared block of the most active neurons,
/// experts clustered by key direction or by activation pattern), and, given a bound, chooses
/// which layers to convert and each one's top-k.
///
/// Everything is a pure function of the model, the text, the plan and the request: the output
/// of a calibrated conversion is as reproducible as any other.
public enum Calibrator {
  /// Calibrates `plan`'s layers as `request` asks.
  ///
  /// - Throws: ``CalibrationError``: exit 2 for a text or tokenizer that cannot be read, a
  ///   family without a whole-model runner, or a bound no layer keeps; exit 1 for I/O failures.
  public static func calibrate(
    plan: ConversionPlan, request: CalibrationRequest, progress: (String) -> Void = { _ in }
  ) throws(CalibrationError) -> CalibrationResult {
    let model = try wrap(plan.inputPath) { () throws(EvaluationError) in
      try QualityEvaluator.wholeModel(plan.source, path: plan.inputPath)
    }
    let sequences = try calibrationSequences(request, plan: plan, model: model)
    var measure = try CalibrationMeasure(
      model: model, sequences: sequences, window: request.window, path: request.text)
    var denseFFNs: [Int: DenseFFN] = [:]
    var recorders: [Int: ActivationRecorder] = [:]
    do {
      for layer in plan.layers {
        let dense = try DenseFFN(layer.ffn)
        denseFFNs[layer.index] = dense
        recorders[layer.index] = ActivationRecorder(dense)
      }
    } catch {
      throw CalibrationError("\(error)", location: ErrorLocation(file: plan.inputPath))
    }
    progress("dense model on \(measure.tokenCount) calibration tokens")
    let denseValue = try measure.dense(recording: recorders)
    let grouper = NeuronGrouper(
      experts: plan.experts, allowUneven: request.allowUneven, seed: plan.options.seed,
      restarts: plan.options.restarts, onActivations: request.clusterOnActivations,
      keysFromUp: plan.options.clusterOn == .up)
    var groupings: [Int: NeuronGrouping] = [:]
    var weights: [Int: ExpertFFNWeights] = [:]
    for layer in plan.layers {
      let dense = denseFFNs[layer.index]!
      progress("layer \(layer.index): grouping \(dense.intermediateSize) neurons")
      let activations =
        request.needsActivations
        ? LayerActivations(ffn: dense, inputs: recorders[layer.index]!.inputs) : nil
      let sharedCount = request.sharedCount(
        neurons: dense.intermediateSize, experts: plan.experts,
        allowUneven: request.allowUneven)
      let shared = activations.map { NeuronGrouper.sharedNeurons($0, count: sharedCount) } ?? []
      let grouping = try grouper.group(
        layer: layer.index, dense: dense, activations: activations, shared: shared)
      groupings[layer.index] = grouping
      do {
        weights[layer.index] = try grouping.expertWeights(dense)
      } catch {
        throw CalibrationError(
          "layer \(layer.index): \(error)", location: ErrorLocation(file: plan.inputPath))
      }
    }
    recorders = [:]
    var search = TopKSearch(
      measure: measure, dense: denseValue, weights: weights, groupings: groupings,
      defaultTopK: plan.topK)
    let chosen: [Int: Int]
    if let bound = request.bound {
      chosen = try search.choose(bound: bound, progress: progress)
    } else {
      chosen = Dictionary(
        uniqueKeysWithValues: plan.layers.map { ($0.index, min(plan.topK, plan.experts)) })
    }
    let value = try search.measured(chosen)
    var result: [Int: NeuronGrouping] = [:]
    for (layer, k) in chosen {
      var grouping = groupings[layer]!
      grouping.topK = k
      result[layer] = grouping
    }
    let digest: String
    do {
      digest = try FileDigests.shared.sha256(ofFile: request.text)
    } catch {
      throw CalibrationError(
        "\(error)", location: ErrorLocation(file: request.text), isIOFailure: true)
    }
    let active = search.activeFraction(chosen)
    let record = search.record(
      file: request.text, sha256: digest, tokens: measure.tokenCount, kind: measure.kind.rawValue,
      bound: request.bound, chosen: chosen, value: value, active: active)
    return CalibrationResult(
      groupings: result, dense: denseValue, value: value, activeFraction: active, record: record)
  }

  /// The calibration tokens: `input_ids` of a `.safetensors` file, or the text read with the
  /// model's tokenizer (the GGUF's own, or `tokenizer.json` beside a safetensors checkpoint).
  private static func calibrationSequences(
    _ request: CalibrationRequest, plan: ConversionPlan, model: WholeModel
  ) throws(CalibrationError) -> [[Int]] {
    if request.text.hasSuffix(".safetensors") {
      let ids: [Int]
      do {
        ids = try Evaluator.tokenIDs(request.text).0
      } catch {
        throw CalibrationError(
          error.problem, location: error.location ?? ErrorLocation(file: request.text),
          isIOFailure: error.isIOFailure)
      }
      return [Array(ids.prefix(request.maximumTokens))]
    }
    let tokenizer: Tokenizer
    do {
      tokenizer = try Tokenizer.load(path: request.tokenizer ?? plan.inputPath)
    } catch {
      throw CalibrationError(
        error.reason + "; calibration reads the text with the model's own tokenizer",
        location: error.location)
    }
    let text = try wrap(request.text) { () throws(EvaluationError) in
      try EvaluationText.read(request.text)
    }
    return CalibrationMeasure.sequences(
      of: text, model: model, tokenizer: tokenizer, maximumTokens: request.maximumTokens)
  }

  private static func wrap<T>(_ path: String, _ body: () throws(EvaluationError) -> T)
    throws(CalibrationError) -> T
  {
    do {
      return try body()
    } catch {
      throw CalibrationError(
        error.problem, location: error.location ?? ErrorLocation(file: path),
        isIOFailure: error.isIOFailure)
    }
  }
}
