import EMoECore
import RealModule

extension QualityReport {
  /// The report as one self-contained HTML page: inline CSS and SVG, no script, no network.
  ///
  /// It holds the quality measure against the active FFN share for the clustered experts, the
  /// random partition and the dense model; per-layer sensitivity; the expert load of each layer
  /// at the stored top-k; the clustering SSE of each layer; and the conversion's settings and
  /// provenance. Every number shown is also in ``json()``, rounded as in ``lines()``.
  public func html() -> String {
    var page = """
      <!DOCTYPE html>
      <html lang="en"><head><meta charset="utf-8">
      <title>emoe-pack evaluate: \(Self.escape(model))</title>
      <style>
      body{font-family:sans-serif;margin:2em;max-width:62em;color:#222}
      table{border-collapse:collapse;margin:.5em 0 1.5em}
      td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
      th{background:#f3f3f3} td.l,th.l{text-align:left}
      svg text{font-size:12px;font-family:sans-serif}
      code{word-break:break-all}
      </style></head><body>
      <h1>What sparsity costs: \(Self.escape(FileSystem.basename(of: model)))</h1>
      <p>\(Self.escape(input)): \(tokenCount) tokens (\(Self.escape(tokenizer))), \(segments) \
      \(measure == .perplexity ? "windows" : "sentences"). Measure: \(measure.rawValue) \
      (\(measure == .perplexity ? "lower is better" : "1 is the dense model")). Dense baseline: \
      \(denseFrom), \(measure.rawValue) <b>\(number(dense))</b>.</p>

      """
    page += "<h2>Quality against active FFN compute</h2>\n" + chart() + table()
    page += maskedLMSection()
    if let layerPoints, !layerPoints.isEmpty {
      page += "<h2>Which layers tolerate sparsity</h2>\n" + sensitivity(layerPoints)
    }
    page += loadSection()
    page +=
      "<h2>Clustering</h2>\n<table><tr><th>layer</th><th>E</th><th>stored top-k</th>"
      + "<th class=l>method</th><th>SSE</th></tr>\n"
    for layer in layers {
      page +=
        "<tr><td>\(layer.layer)</td><td>\(layer.experts)</td><td>\(layer.topK)</td>"
        + "<td class=l>\(Self.escape(layer.clustering))</td><td>\(Self.format(layer.sse, digits: 2))"
        + "</td></tr>\n"
    }
    page += "</table>\n<h2>Settings and provenance</h2>\n<table>\n"
    for (key, value) in provenance {
      page +=
        "<tr><th class=l>\(Self.escape(key))</th><td class=l><code>\(Self.escape(value))</code></td></tr>\n"
    }
    page += "</table>\n<p>Made by <code>emoe-pack evaluate</code>.</p>\n</body></html>\n"
    return page
  }

  private func number(_ value: Double) -> String {
    measure == .perplexity ? Self.format(value, digits: 2) : Self.format(value, digits: 4)
  }

  private func percent(_ value: Double) -> String { Self.format(value * 100, digits: 1) + " %" }

  private func table() -> String {
    var html =
      "<table><tr><th>top-k</th><th>\(measure.rawValue)</th><th>change</th>"
      + "<th>active FFN, converted layers</th><th>active FFN, model</th>"
    if randomSeed != nil { html += "<th>random partition</th><th>its change</th>" }
    html +=
      "</tr>\n<tr><td>dense</td><td>\(number(dense))</td><td></td><td>100.0 %</td><td>100.0 %</td>"
    if randomSeed != nil { html += "<td></td><td></td>" }
    html += "</tr>\n"
    let routers = routers
    for point in points {
      let router =
        routers.count > 1 || point.router != .averageKey
        ? " (\(point.router.rawValue)\(point.router.isOracle ? ", oracle" : ""))" : ""
      html +=
        "<tr><td>\(point.topK.map(String.init) ?? "per layer")\(router)</td><td>\(number(point.value))</td>"
        + "<td>\(signedPercent(change(point.value)))</td><td>\(percent(point.active.convertedLayers))</td>"
        + "<td>\(percent(point.active.wholeModel))</td>"
      if randomSeed != nil {
        html +=
          point.randomValue.map {
            "<td>\(number($0))</td><td>\(signedPercent(change($0)))</td>"
          } ?? "<td></td><td></td>"
      }
      html += "</tr>\n"
    }
    return html + "</table>\n"
  }

  /// The masked-LM loss at each top-k, for encoders with a masked-LM head.
  private func maskedLMSection() -> String {
    guard let denseLoss = denseMaskedLMLoss, let masking else { return "" }
    var html =
      "<h2>Masked-LM loss</h2>\n<p>\(masking.positions) masked tokens (15 % of each sentence's "
      + "ordinary tokens, seed \(masking.seed)); mean cross-entropy, lower is better.</p>\n"
      + "<table><tr><th>top-k</th><th>masked-LM loss</th><th>increase</th></tr>\n"
      + "<tr><td>dense</td><td>\(Self.format(denseLoss, digits: 4))</td><td></td></tr>\n"
    for point in points {
      guard let loss = point.maskedLMLoss else { continue }
      html +=
        "<tr><td>\(point.topK.map(String.init) ?? "per layer")</td>"
        + "<td>\(Self.format(loss, digits: 4))</td>"
        + "<td>\(signedPercent(loss / denseLoss - 1))</td></tr>\n"
    }
    return html + "</table>\n"
  }

  private func signedPercent(_ value: Double) -> String {
    (value >= 0 ? "+" : "") + Self.format(value * 100, digits: 1) + " %"
  }

  /// The measure (y) against the model's active FFN share (x): clustered, random, dense.
  private func chart() -> String {
    let width = 640.0
    let height = 360.0
    let left = 70.0
    let right = 20.0
    let top = 20.0
    let bottom = 50.0
    var values = [dense] + points.map(\.value) + points.compactMap(\.randomValue)
    values = values.filter(\.isFinite)
    let logScale = measure == .perplexity && (values.max() ?? 1) / max(values.min() ?? 1, 1e-9) > 8
    func transform(_ value: Double) -> Double { logScale ? Double.log10(max(value, 1e-9)) : value }
    let yValues = values.map(transform)
    var yLow = yValues.min() ?? 0
    var yHigh = yValues.max() ?? 1
    if yHigh - yLow < 1e-9 { (yLow, yHigh) = (yLow - 0.5, yHigh + 0.5) }
    let pad = (yHigh - yLow) * 0.08
    (yLow, yHigh) = (yLow - pad, yHigh + pad)
    let shares = points.map(\.active.wholeModel) + [1]
    let xLow = max(0, (shares.min() ?? 0) - 0.03)
    let xHigh = (shares.max() ?? 1) + 0.01
    func x(_ share: Double) -> Double {
      left + (share - xLow) / (xHigh - xLow) * (width - left - right)
    }
    func y(_ value: Double) -> Double {
      top + (yHigh - transform(value)) / (yHigh - yLow) * (height - top - bottom)
    }
    var svg =
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" "
      + "role=\"img\" aria-label=\"\(measure.rawValue) against active FFN share\">\n"
      + "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(width - left - right)\" "
      + "height=\"\(height - top - bottom)\" fill=\"none\" stroke=\"#999\"/>\n"
    for tick in 0...4 {
      let share = xLow + (xHigh - xLow) * Double(tick) / 4
      svg +=
        "<text x=\"\(x(share))\" y=\"\(height - bottom + 16)\" text-anchor=\"middle\">"
        + "\(Self.format(share * 100, digits: 0)) %</text>\n"
    }
    svg +=
      "<text x=\"\((left + width - right) / 2)\" y=\"\(height - 10)\" text-anchor=\"middle\">"
      + "active share of the model's FFN multiply-adds</text>\n"
      + "<text x=\"14\" y=\"\((top + height - bottom) / 2)\" text-anchor=\"middle\" "
      + "transform=\"rotate(-90 14 \((top + height - bottom) / 2))\">\(measure.rawValue)"
      + (logScale ? " (log scale)" : "") + "</text>\n"
    // The dense model: a horizontal line.
    svg +=
      "<line x1=\"\(left)\" x2=\"\(width - right)\" y1=\"\(y(dense))\" y2=\"\(y(dense))\" "
      + "stroke=\"#2a7\" stroke-dasharray=\"6 4\"/>\n"
      + "<text x=\"\(left + 8)\" y=\"\(y(dense) + 14)\" fill=\"#2a7\">"
      + "dense \(number(dense))</text>\n"
    func series(_ pairs: [(Double, Double, String)], color: String, name: String) -> String {
      guard !pairs.isEmpty else { return "" }
      let path = pairs.map { "\(x($0.0)),\(y($0.1))" }.joined(separator: " ")
      var text =
        "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
      for (share, value, label) in pairs {
        text +=
          "<circle cx=\"\(x(share))\" cy=\"\(y(value))\" r=\"4\" fill=\"\(color)\">"
          + "<title>\(name) k = \(label): \(number(value))</title></circle>\n"
          + "<text x=\"\(x(share) + 6)\" y=\"\(y(value) - 6)\" fill=\"\(color)\">k=\(label)</text>\n"
      }
      return text
    }
    // One series per router; a single stored-kind router keeps the name "clustered".
    let palette = ["#1f5fbf", "#e08a00", "#7a3fb0", "#0a8a8a", "#777"]
    let routers = routers
    func seriesName(_ router: EvaluationRouter) -> String {
      routers.count == 1 && router == .averageKey
        ? "clustered experts"
        : "router " + router.rawValue + (router.isOracle ? " (oracle)" : "")
    }
    for (index, router) in routers.enumerated() {
      let finite = points.filter { $0.value.isFinite && $0.router == router }
      svg += series(
        finite.map { ($0.active.wholeModel, $0.value, $0.topK.map(String.init) ?? "mixed") },
        color: palette[index % palette.count], name: seriesName(router))
    }
    svg += series(
      points.compactMap { point in
        point.randomValue.flatMap {
          $0.isFinite ? (point.active.wholeModel, $0, point.topK.map(String.init) ?? "mixed") : nil
        }
      }, color: "#c33", name: "random partition")
    var legendY = height - bottom - 8 - Double(routers.count - 1 + (randomSeed != nil ? 1 : 0)) * 16
    for (index, router) in routers.enumerated() {
      svg +=
        "<text x=\"\(width - right - 8)\" y=\"\(legendY)\" text-anchor=\"end\" "
        + "fill=\"\(palette[index % palette.count])\">● \(seriesName(router))</text>\n"
      legendY += 16
    }
    if randomSeed != nil {
      svg +=
        "<text x=\"\(width - right - 8)\" y=\"\(legendY)\" text-anchor=\"end\" "
        + "fill=\"#c33\">● random partition</text>\n"
    }
    return svg + "</svg>\n"
  }

  private func sensitivity(_ layerPoints: [Point]) -> String {
    var html =
      "<p>Each converted layer alone at a top-k below its E, every other layer dense.</p>\n"
      + "<table><tr><th>layer</th><th>top-k</th><th>\(measure.rawValue)</th><th>change</th>"
      + "<th class=l></th></tr>\n"
    let largest = layerPoints.map { abs(change($0.value)) }.filter(\.isFinite).max() ?? 1
    for point in layerPoints {
      guard let only = point.topKPerLayer.first else { continue }
      let share = largest > 0 ? min(1, abs(change(point.value)) / largest) : 0
      html +=
        "<tr><td>\(only.layer)</td><td>\(only.topK)</td><td>\(number(point.value))</td>"
        + "<td>\(signedPercent(change(point.value)))</td><td class=l><svg width=\"200\" height=\"12\">"
        + "<rect width=\"\(Self.format(share * 200, digits: 1))\" height=\"12\" fill=\"#1f5fbf\"/></svg></td></tr>\n"
    }
    return html + "</table>\n"
  }

  /// The expert load at the stored top-k (or the smallest measured): one strip per layer.
  private func loadSection() -> String {
    let stored = Dictionary(uniqueKeysWithValues: layers.map { ($0.layer, $0.topK) })
    guard
      let point = points.first(where: { point in
        point.topKPerLayer.allSatisfy { stored[$0.layer] == $0.topK }
      }) ?? points.last, !point.expertLoad.isEmpty
    else { return "" }
    var html =
      "<h2>Expert load</h2>\n<p>Tokens routed to each expert at top-k "
      + (point.topK.map(String.init) ?? "per layer")
      + "; darker is busier, relative to an even share.</p>\n<table><tr><th>layer</th>"
      + "<th class=l>experts</th><th>busiest / even</th><th>idle experts</th></tr>\n"
    for (layer, counts) in point.expertLoad.sorted(by: { $0.key < $1.key }) {
      let total = counts.reduce(0, +)
      let even = Double(total) / Double(max(counts.count, 1))
      let busiest = Double(counts.max() ?? 0) / max(even, 1e-9)
      let cell = 600.0 / Double(max(counts.count, 1))
      var strip = "<svg width=\"600\" height=\"14\">"
      for (expert, count) in counts.enumerated() {
        let level = min(1, Double(count) / max(2 * even, 1e-9))
        strip +=
          "<rect x=\"\(Self.format(Double(expert) * cell, digits: 2))\" width=\""
          + "\(Self.format(cell, digits: 2))\" height=\"14\" fill=\"#1f5fbf\" fill-opacity=\""
          + "\(Self.format(level, digits: 3))\"><title>expert \(expert): \(count)</title></rect>"
      }
      html +=
        "<tr><td>\(layer)</td><td class=l>\(strip)</svg></td>"
        + "<td>\(Self.format(busiest, digits: 2))</td><td>\(counts.filter { $0 == 0 }.count)</td></tr>\n"
    }
    return html + "</table>\n"
  }

  /// `text` safe inside HTML text and attribute values.
  static func escape(_ text: String) -> String {
    var result = ""
    for character in text {
      switch character {
      case "&": result += "&amp;"
      case "<": result += "&lt;"
      case ">": result += "&gt;"
      case "\"": result += "&quot;"
      default: result.append(character)
      }
    }
    return result
  }
}
