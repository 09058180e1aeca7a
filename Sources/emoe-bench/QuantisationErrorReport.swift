import EMoECore
import EMoEFormats
import EMoENumerics
import Foundation

/// The error of per-row int8 quantisation (and of Q8_0, for comparison) on random and real
/// weights, printed as one JSON object per data set; `docs/quantisation.md` records the figures.
enum QuantisationErrorReport {
  /// Error figures of one encoding on one data set.
  struct Figures {
    var relativeRMS: Double
    var snrDecibels: Double
    var maxErrorInSteps: Double
    var maxRowRelativeRMS: Double
  }

  static func run(workload: GGUFCodecsBench.Workload, miniLM: String) throws {
    var generator = SplitMix(seed: 1)
    let rows = 1024
    let columns = 1024
    let random = (0..<(rows * columns)).map { _ in Float(generator.nextGaussian()) }
    report("random N(0,1) 1024x1024", [(random, rows, columns)])

    var smol: [([Float], Int, Int)] = []
    var offset = 0
    for shape in workload.shapes {
      let count = shape.rows * shape.columns
      smol.append(
        (Array(workload.floats[offset..<(offset + count)]), shape.rows, shape.columns))
      offset += count
    }
    report("SmolLM2-135M FFN (Q4_1 decoded)", smol)

    if FileSystem.exists(miniLM) {
      let file = try SafeTensorsFile(path: miniLM)
      var matrices: [([Float], Int, Int)] = []
      for info in file.tensorInfos where info.dtype == .f32 && info.shape.rank == 2 {
        let tensor = try file.tensor(named: info.name)
        matrices.append((try tensor.floatValues(), info.shape[0], info.shape[1]))
      }
      report("all-MiniLM-L6-v2 F32 matrices", matrices)
    }
  }

  private static func report(_ name: String, _ matrices: [([Float], Int, Int)]) {
    let int8 = figures(matrices, int8: true)
    let q8 = figures(matrices.filter { $0.2 % 32 == 0 }, int8: false)
    let values = matrices.reduce(0) { $0 + $1.0.count }
    print(
      "{\"benchmark\": \"int8-error\", \"data\": \"\(name)\", \"matrices\": \(matrices.count), "
        + "\"values\": \(values), "
        + "\"int8_row\": \(json(int8)), \"q8_0\": \(json(q8))}")
  }

  private static func json(_ figures: Figures) -> String {
    "{\"relative_rms\": \(figures.relativeRMS), \"snr_db\": \(figures.snrDecibels), "
      + "\"max_error_in_steps\": \(figures.maxErrorInSteps), "
      + "\"worst_row_relative_rms\": \(figures.maxRowRelativeRMS)}"
  }

  /// Errors of int8 rows (one scale per row) or Q8_0 (one F16 scale per 32 values).
  private static func figures(_ matrices: [([Float], Int, Int)], int8: Bool) -> Figures {
    var signal = 0.0
    var noise = 0.0
    var maxSteps = 0.0
    var worstRow = 0.0
    for (values, rows, columns) in matrices {
      let decoded: [Float]
      var steps: [Float]
      if int8 {
        let (codes, scales) = Int8RowQuantizer.quantize(values, rows: rows, columns: columns)
        decoded = Int8RowQuantizer.dequantize(codes, scales: scales, columns: columns)
        steps = scales.flatMap { [Float](repeating: $0, count: columns) }
      } else {
        let bytes = (try? Q8_0Quantizer.quantize(values)) ?? []
        decoded = bytes.withUnsafeBytes { (try? Dequantizer.dequantize(.q8_0, from: $0)) ?? [] }
        steps = stride(from: 0, to: values.count, by: 32).flatMap { start in
          let amax = values[start..<(start + 32)].map(\.magnitude).max() ?? 0
          return [Float](repeating: amax / 127, count: 32)
        }
      }
      for row in 0..<rows {
        var rowSignal = 0.0
        var rowNoise = 0.0
        for column in 0..<columns {
          let index = row * columns + column
          let error = Double(decoded[index] - values[index])
          rowSignal += Double(values[index]) * Double(values[index])
          rowNoise += error * error
          if steps[index] > 0 { maxSteps = max(maxSteps, abs(error) / Double(steps[index])) }
        }
        signal += rowSignal
        noise += rowNoise
        if rowSignal > 0 { worstRow = max(worstRow, (rowNoise / rowSignal).squareRoot()) }
      }
    }
    let relative = (noise / signal).squareRoot()
    return Figures(
      relativeRMS: relative, snrDecibels: -20 * Foundation.log10(relative),
      maxErrorInSteps: maxSteps,
      maxRowRelativeRMS: worstRow)
  }
}

/// A small deterministic generator for benchmark data.
struct SplitMix {
  var state: UInt64

  init(seed: UInt64) { state = seed }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A standard normal value (Box–Muller with a polar rejection step).
  mutating func nextGaussian() -> Double {
    while true {
      let u = Double(next() >> 11) / Double(1 << 53) * 2 - 1
      let v = Double(next() >> 11) / Double(1 << 53) * 2 - 1
      let s = u * u + v * v
      if s > 0 && s < 1 {
        return u * (-2 * Foundation.log(s) / s).squareRoot()
      }
    }
  }
}
