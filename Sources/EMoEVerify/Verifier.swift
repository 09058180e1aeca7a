import EMoECore
import EMoEFormats
import EMoEModel
import EMoERunner

/// `emoe-pack verify`: checks a `.emoe` container end to end and reports every check.
///
/// In order, each kind a ``VerificationKind``:
/// 1. **integrity**: the header, every tensor's checksum (and decompression), the padding
///    (``EMoEFormats/ContainerIntegrity``). When it fails, the file is damaged and the checks
///    below are skipped.
/// 2. **finite**: every stored tensor holds numbers, no NaN or infinity (``FiniteCheck``); a
///    layer that fails it skips the output checks below, which would prove nothing.
/// 3. **permutation**: each layer's permutation is a permutation and its expert sizes fit the
///    record (container only); with the source, every stored matrix row, bias value and gate
///    row is checked against it (``LayerSourceCheck``), and every passthrough tensor's bytes.
/// 4. **equivalence**: with the source, the EMoE FFN at k = E against the dense FFN
///    (``EquivalenceCheck``).
/// 5. **sparse_masked**: the sparse path against the masked reference at each k
///    (``SparseMaskedCheck``; container only).
/// 6. **model** (with `--model`): the whole model at each k against the dense source
///    (``ModelCheck``).
///
/// The source is `--source` or the recorded files beside the container (``SourceLocator``);
/// without one, the source checks are reported as skipped.
public struct Verifier: Sendable {
  /// What to check.
  public var options: VerificationOptions
  /// Where the source files' SHA-256 come from (a batch passes the cache its conversion
  /// filled, so the source is not hashed twice).
  public var digests: FileDigests
  /// Told each phase as it starts and how far it is, on the calling thread.
  public var progress: (@Sendable (VerificationProgress) -> Void)?

  /// Creates a verifier.
  public init(options: VerificationOptions = VerificationOptions(), digests: FileDigests = .shared)
  {
    self.options = options
    self.digests = digests
  }

  /// Verifies the container at `path`.
  ///
  /// - Throws: ``VerificationError`` when no verdict is possible: the container cannot be
  ///   opened or is not one (or needs a newer reader), the given source cannot be read or is
  ///   not the recorded one, the inputs file is unusable, a `--top-k` exceeds a layer's E, or
  ///   `--model` has no source or no runner for the family.
  public func verify(path: String) throws(VerificationError) -> VerificationReport {
    guard options.tokens >= 1 else { throw VerificationError("--tokens must be at least 1") }
    guard options.tokens <= VerificationOptions.maximumTokens else {
      throw VerificationError(
        "--tokens \(options.tokens) is above the limit of \(VerificationOptions.maximumTokens)")
    }
    guard options.tolerance > 0, options.tolerance.isFinite else {
      throw VerificationError("--tolerance must be a positive number")
    }
    let container: ContainerFile
    do throws(ContainerError) {
      container = try ContainerFile(path: path)
    } catch {
      switch error.kind {
      case .io:
        throw VerificationError(error.description, isIOFailure: true)
      case .notAContainer, .unsupportedVersion, .unknownRequiredFeature:
        throw VerificationError(error.description)
      default:
        return VerificationReport(
          file: path, source: nil, sourceNote: "not read: the header is damaged",
          inputsNote: "none", tolerance: options.tolerance,
          checks: [.failed(.integrity, "header", detail: error.description)])
      }
    }
    progress?(VerificationProgress(phase: .integrity))
    var checks = ContainerIntegrity.verify(container).checks
    guard !checks.contains(where: \.failed) else {
      let reason = "the file is damaged (integrity failed)"
      checks += [VerificationKind.finite, .permutation, .equivalence, .sparseMasked].map {
        .skipped($0, "all", reason: reason)
      }
      return VerificationReport(
        file: path, source: nil, sourceNote: "not compared: " + reason, inputsNote: "none",
        tolerance: options.tolerance, checks: checks)
    }
    let finite = FiniteCheck.run(container)
    checks += finite
    let nonFiniteLayers = Set(finite.filter(\.failed).compactMap(\.layer))
    let nonFinitePassthrough = finite.contains { $0.failed && $0.layer == nil }
    for k in options.topK ?? [] {
      for record in container.layers where !(1...record.expertCount).contains(k) {
        throw VerificationError(
          "--top-k \(k) is not between 1 and layer \(record.layer)'s \(record.expertCount) experts")
      }
    }
    let (located, sourceNote) = try SourceLocator.locate(
      for: container, explicit: options.source, digests: digests, progress: progress)
    if options.model && located == nil {
      throw VerificationError(
        "verify --model compares with the dense source model, and none is available: "
          + sourceNote)
    }
    let architecture = try located.map { source throws(VerificationError) in
      try detect(source.model, container)
    }
    let ordered = container.layers.sorted(by: { $0.layer < $1.layer })
    for (index, record) in ordered.enumerated() {
      progress?(VerificationProgress(phase: .layers, done: index, total: ordered.count))
      checks += try layerChecks(
        record, container, located, architecture, sourceNote,
        nonFinite: nonFiniteLayers.contains(record.layer))
    }
    if let located {
      checks.append(PassthroughCheck.run(container: container, source: located.model))
    } else {
      checks.append(.skipped(.permutation, "passthrough", reason: sourceNote))
    }
    if options.model, located != nil, !nonFiniteLayers.isEmpty || nonFinitePassthrough {
      checks.append(
        .skipped(.model, "model", reason: "stored tensors hold NaN or infinity (finite values)"))
    } else if options.model, let located {
      let ks = options.topK ?? Array(Set(container.layers.map(\.topK))).sorted()
      progress?(VerificationProgress(phase: .model))
      checks += try ModelCheck(
        container: container, source: located.model, ks: ks, tokens: options.tokens,
        tolerance: options.tolerance,
        recordedTopK: options.topK == nil && Set(container.layers.map(\.topK)).count > 1
      ).run()
    }
    return VerificationReport(
      file: path, source: located?.path, sourceNote: sourceNote, inputsNote: inputsNote,
      tolerance: options.tolerance, checks: checks)
  }

  private var inputsNote: String {
    if let inputs = options.inputs {
      return "hidden states from \(inputs) ('hidden_states.L' or 'hidden_states')"
    }
    return "\(options.tokens) random N(0, 1) hidden states per layer (seed \(options.seed))"
  }

  /// The source's architecture, with the conversion's `--ffn-pattern` when it recorded one.
  private func detect(_ source: any ModelSource, _ container: ContainerFile)
    throws(VerificationError) -> Architecture
  {
    do {
      let pattern = try container.manifest.options["ffn_pattern"]?.stringValue.map {
        spec throws(ModelError) in try FFNPattern.parse(spec)
      }
      return try Architecture.detect(source, ffnPattern: pattern)
    } catch {
      throw VerificationError(reading: source.path, error)
    }
  }

  /// Every check of one converted layer.
  private func layerChecks(
    _ record: ContainerLayerRecord, _ container: ContainerFile, _ located: LocatedSource?,
    _ architecture: Architecture?, _ sourceNote: String, nonFinite: Bool
  ) throws(VerificationError) -> [VerificationCheck] {
    let layer = record.layer
    let (permutationCheck, permutation) = LayoutCheck.permutation(container, record)
    var checks = [permutationCheck, LayoutCheck.expertSizes(container, record)]
    let inputs = try hiddenStates(layer: layer, dimension: record.hiddenSize)

    var source: SourceLayerValues?
    if let located, let architecture {
      do {
        source = SourceLayerValues(try architecture.layer(layer, in: located.model))
      } catch {
        checks.append(
          .failed(
            .permutation, "layer \(layer) source", layer: layer,
            detail: "the source has no such FFN layer: \(error)"))
      }
    } else {
      checks.append(
        .skipped(.permutation, "layer \(layer) source", layer: layer, reason: sourceNote))
    }
    if let source, let permutation {
      checks += LayerSourceCheck(
        container: container, record: record, source: source, permutation: permutation
      ).run()
    }

    if nonFinite {
      // Outputs computed from NaN weights prove nothing either way.
      let reason = "the layer's stored tensors hold NaN or infinity (finite values)"
      checks.append(.skipped(.equivalence, "layer \(layer) k=E", layer: layer, reason: reason))
      checks.append(.skipped(.sparseMasked, "layer \(layer)", layer: layer, reason: reason))
      return checks
    }
    let weights: ExpertFFNWeights
    do {
      weights = try ExpertFFNWeights(container: container, layer: record)
    } catch {
      let detail = "the layer cannot be loaded: \(error)"
      checks.append(.failed(.equivalence, "layer \(layer) k=E", layer: layer, detail: detail))
      checks.append(.failed(.sparseMasked, "layer \(layer)", layer: layer, detail: detail))
      return checks
    }
    if let source {
      checks.append(
        EquivalenceCheck(
          record: record, container: container, source: source, weights: weights,
          inputs: inputs.values, tokens: inputs.tokens, tolerance: options.tolerance
        ).run())
    } else if located == nil {
      checks.append(.skipped(.equivalence, "layer \(layer) k=E", layer: layer, reason: sourceNote))
    }
    for k in options.topK ?? [record.topK] {
      do {
        let outcome = try SparseMaskedCheck.run(
          weights: weights, expertSizes: record.expertSizes, sharedCount: record.sharedCount,
          inputs: inputs.values,
          tokens: inputs.tokens, topK: k, tolerance: options.tolerance)
        checks.append(SparseMaskedCheck.check(outcome, layer: layer))
      } catch {
        checks.append(
          .failed(.sparseMasked, "layer \(layer) k=\(k)", layer: layer, detail: "\(error)"))
      }
    }
    return checks
  }

  /// The hidden states fed to `layer`.
  private func hiddenStates(layer: Int, dimension: Int) throws(VerificationError) -> (
    values: [Float], tokens: Int
  ) {
    if let inputs = options.inputs {
      return try HiddenStateInputs.read(from: inputs, layer: layer, dimension: dimension)
    }
    return (
      HiddenStateInputs.random(tokens: options.tokens, dimension: dimension, seed: options.seed),
      options.tokens
    )
  }
}
