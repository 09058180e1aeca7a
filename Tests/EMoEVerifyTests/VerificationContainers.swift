import EMoECore
import EMoEFormats
import EMoEModel
import EMoENumerics
import EMoETestSupport

/// Writes `.emoe` containers from a fixture model the way `convert` does.
///
/// A fixed shuffled permutation stands in for clustering; the expert matrices can be quantised
/// and one fault injected, so each check of `verify` can be shown to pass on an honest file and
/// fail on a broken one. Every file is written by ``EMoEFormats/ContainerWriter``, so its
/// checksums are valid: only the content is wrong.
enum VerificationContainers {
  /// A fault written into an otherwise honest container.
  enum Fault {
    /// Two stored rows of a matrix role swapped (the permutation tensor left alone).
    case swapRows(ContainerLayerRecord.Role, Int, Int)
    /// A gate row replaced by another expert's row.
    case copyGateRow(from: Int, to: Int)
    /// One int8 code of a quantised role moved by `steps` quantisation steps.
    case shiftCode(ContainerLayerRecord.Role, row: Int, steps: Int8)
    /// The record names a different activation.
    case activation(String)
    /// One gate value replaced (NaN or infinity), as a converter that let one through would.
    case gateValue(row: Int, column: Int, Float)
    /// Every value of a matrix role replaced by one finite value (large ones overflow outputs).
    case fill(ContainerLayerRecord.Role, Float)
  }

  /// How the expert matrices are stored.
  enum Storage {
    case exact
    /// These roles as int8 rows, those as Q8_0, the rest exact.
    case quantised(int8: Set<ContainerLayerRecord.Role>, q8_0: Set<ContainerLayerRecord.Role>)
  }

  /// A fixed scatter of n neurons into E equal experts (a stand-in for clustering), the same
  /// as the runner tests' (SplitMix64 seeded from n and E).
  static func partition(neurons: Int, experts: Int) -> (permutation: [Int], boundaries: [Int]) {
    var generator = SplitMix(state: UInt64(neurons * 31 + experts))
    let permutation = Array((0..<neurons).shuffled(using: &generator))
    let size = neurons / experts
    return (permutation, (0...experts).map { $0 * size })
  }

  /// SplitMix64, for reproducible partitions.
  struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
  }

  /// The container role of a source FFN role.
  static func storedRole(_ role: FFNRole) -> ContainerLayerRecord.Role {
    switch role {
    case .w1: .w1
    case .b1: .b1
    case .w2: .w2
    case .b2: .b2
    case .gate: .wg
    case .up: .wu
    case .down: .wd
    case .gateBias: .bg
    case .upBias: .bu
    case .downBias: .bd
    }
  }

  /// Converts `layers` of the fixture model at `modelPath` into a container at `output`.
  static func write(
    model modelPath: String, to output: String, layers: [Int], experts: Int, topK: Int,
    storage: Storage = .exact, fault: Fault? = nil
  ) throws {
    let source = try SafeTensorsCheckpoint(path: modelPath)
    let architecture = try Architecture.detect(source)
    var declarations: [ContainerTensorDeclaration] = []
    var records: [ContainerLayerRecord] = []
    var payloads: [String: [UInt8]] = [:]
    var layerTensorNames = Set<String>()
    for layer in layers {
      let ffn = try architecture.layer(layer, in: source)
      let n = ffn.intermediateSize
      let d = ffn.hiddenSize
      let split = partition(neurons: n, experts: experts)
      let sigma = split.permutation
      let prefix = "emoe.layers.\(layer)."
      var roles: [ContainerLayerRecord.Role: String] = [:]
      func add(
        _ role: ContainerLayerRecord.Role?, _ name: String, _ dtype: DType, _ shape: Shape,
        _ bytes: [UInt8], encoding: ContainerEncoding = .plain, source: ContainerTensorSource? = nil
      ) {
        if let role { roles[role] = name }
        declarations.append(
          ContainerTensorDeclaration(
            name: name, dtype: dtype, shape: shape, encoding: encoding, source: source))
        payloads[name] = bytes
      }
      add(
        .permutation, prefix + "permutation", .i64, [n],
        sigma.map { Int64($0) }.withUnsafeBytes { Array($0) })
      let keyRole: FFNRole = ffn.isGLU ? .gate : .w1
      let keys = try ffn.floats(keyRole)
      var gate = [Float](repeating: 0, count: experts * d)
      for expert in 0..<experts {
        let rows = split.boundaries[expert]..<split.boundaries[expert + 1]
        for column in 0..<d {
          let sum = rows.reduce(0.0) { $0 + Double(keys[sigma[$1] * d + column]) }
          gate[expert * d + column] = Float(sum / Double(rows.count))
        }
      }
      if case .copyGateRow(let from, let to) = fault {
        for column in 0..<d { gate[to * d + column] = gate[from * d + column] }
      }
      if case .gateValue(let row, let column, let value) = fault { gate[row * d + column] = value }
      add(.router, prefix + "router", .f32, [experts, d], gate.withUnsafeBytes { Array($0) })
      for member in ffn.members {
        let role = Self.storedRole(member.role)
        let canonical = try ffn.floats(member.role)
        let columns = member.role.isWeight && member.role.isInputSide == ffn.transposed
        let name = prefix + role.rawValue
        if member.role.isWeight {
          var permuted = [Float](repeating: 0, count: n * d)
          for position in 0..<n {
            for column in 0..<d {
              permuted[position * d + column] = canonical[sigma[position] * d + column]
            }
          }
          if case .fill(let faultRole, let value) = fault, faultRole == role {
            permuted = [Float](repeating: value, count: permuted.count)
          }
          if case .swapRows(let faultRole, let a, let b) = fault, faultRole == role {
            for column in 0..<d { permuted.swapAt(a * d + column, b * d + column) }
          }
          var values: ContainerTensorSource.ValueChange = .exact
          if case .quantised(let int8, let q8) = storage, int8.contains(role) || q8.contains(role) {
            values = .lossy
          }
          let recorded = ContainerTensorSource(
            name: member.info.name, dtype: member.info.dtype, shape: member.info.shape,
            transposed: columns, values: values)
          if case .quantised(let int8, _) = storage, int8.contains(role) {
            var (codes, scales) = Int8RowQuantizer.quantize(permuted, rows: n, columns: d)
            if case .shiftCode(let faultRole, let row, let steps) = fault, faultRole == role {
              let index =
                row * d + (0..<d).max {
                  abs(Int(codes[row * d + $0])) > abs(Int(codes[row * d + $1]))
                }!
              codes[index] = codes[index] > 0 ? codes[index] - steps : codes[index] + steps
            }
            add(
              role, name, .i8, [n, d], codes.withUnsafeBytes { Array($0) },
              encoding: .int8Rows(scales: name + ".scale"), source: recorded)
            add(nil, name + ".scale", .f32, [n], scales.withUnsafeBytes { Array($0) })
          } else if case .quantised(_, let q8) = storage, q8.contains(role) {
            add(role, name, .q8_0, [n, d], try Q8_0Quantizer.quantize(permuted), source: recorded)
          } else {
            add(role, name, .f32, [n, d], permuted.withUnsafeBytes { Array($0) }, source: recorded)
          }
        } else {
          let values = member.role.isInputSide ? sigma.map { canonical[$0] } : canonical
          add(
            role, name, .f32, member.info.shape, values.withUnsafeBytes { Array($0) },
            source: ContainerTensorSource(
              name: member.info.name, dtype: member.info.dtype, shape: member.info.shape,
              transposed: false, values: .exact))
        }
        layerTensorNames.insert(member.info.name)
      }
      var activation = ffn.activation.rawValue
      if case .activation(let name) = fault { activation = name }
      records.append(
        ContainerLayerRecord(
          layer: layer, family: ffn.isGLU ? .glu : .plain, activation: activation,
          transposedSource: ffn.transposed, hiddenSize: d, intermediateSize: n,
          expertCount: experts,
          expertSizes: ContainerLayerRecord.balancedSizes(neurons: n, experts: experts),
          topK: topK,
          clustering: .init(
            method: "fixed_shuffle", keys: ffn.isGLU ? .gate : .w1, seed: 0, restarts: 1,
            iterations: 1, sse: 0),
          tensors: roles))
    }
    let passthrough = source.tensorInfos.filter { !layerTensorNames.contains($0.name) }
    let plan = ContainerPlan(
      tool: ContainerTool(name: "emoe-pack-tests", version: "0"),
      options: .object([JSONMember("experts", .integer(Int64(experts)))]),
      source: ContainerSourceDescription(
        format: "safetensors",
        files: try source.files.map { try ContainerSourceFile.describing(path: $0) },
        metadata: source.metadata, config: source.config),
      layers: records,
      tensors: passthrough.map { .passthrough($0) } + declarations)
    let writer = try ContainerWriter(path: output, plan: plan)
    for info in passthrough { try writer.append(try source.tensor(named: info.name)) }
    for declaration in declarations {
      try payloads[declaration.name]!.withUnsafeBytes {
        try writer.append(declaration.name, bytes: $0)
      }
    }
    try writer.commit()
  }
}
