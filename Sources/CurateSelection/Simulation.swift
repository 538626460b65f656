import CurateCore
import CurateImaging
import Foundation

/// Features for the built-in learner from pixels: grey, shrunk by area averaging to at most `side` × `side`,
/// scaled to [0, 1] (small images such as the digits keep every pixel).
package func pixelFeatures(_ image: PixelBuffer, side: Int = 16) -> [Double] {
    var grey = image.converted(to: .gray8)
    if grey.width > side || grey.height > side { grey = grey.resized(width: min(side, grey.width), height: min(side, grey.height)) }
    return grey.bytes.map { Double($0) / 255 }
}

/// Active-learning rounds with an oracle on a dataset whose labels are known: start from `initial` random
/// labels of the training rows, then each round fit the built-in learner, measure test accuracy, select `batch`
/// more with the strategy (features double as embeddings) and reveal their labels.
package struct Simulation: Sendable {
    package var features: [Double]
    package var dimensions: Int
    package var labels: [Int]
    package var classes: Int
    package var train: [Int]
    package var test: [Int]
    /// The learner's C (inverse L2 strength, as scikit-learn's).
    package var c: Double = 1

    package init(features: [Double], dimensions: Int, labels: [Int], classes: Int, train: [Int], test: [Int]) {
        self.features = features
        self.dimensions = dimensions
        self.labels = labels
        self.classes = classes
        self.train = train
        self.test = test
    }

    package struct Point: Sendable, Equatable {
        package var labels: Int
        package var accuracy: Double
        package init(labels: Int, accuracy: Double) { self.labels = labels; self.accuracy = accuracy }
    }

    func rows(_ indices: [Int]) -> [Double] { indices.flatMap { features[($0 * dimensions)..<(($0 + 1) * dimensions)] } }

    package func curve(_ strategy: Strategy, initial: Int, batch: Int, rounds: Int, seed: UInt64) throws(SelectionError) -> [Point] {
        var rng = SplitMix64(seed: seed)
        var shuffled = train
        for i in 0..<min(initial, shuffled.count) { shuffled.swapAt(i, i + Int(rng.next() % UInt64(shuffled.count - i))) }
        var labeled = Array(shuffled.prefix(initial))
        var points: [Point] = []
        var model: LogisticRegression?
        let testX = rows(test), allX = features, n = labels.count
        for round in 0...rounds {
            model = LogisticRegression.fit(features: rows(labeled), dimensions: dimensions, labels: labeled.map { labels[$0] }, classes: classes,
                                           c: c, tolerance: 1e-4, start: model?.parameters)
            let predicted = model!.predict(testX, count: test.count)
            points.append(Point(labels: labeled.count, accuracy: Double(zip(predicted, test.map { labels[$0] }).filter { $0 == $1 }.count) / Double(max(test.count, 1))))
            if round == rounds { break }
            let chosen = Set(labeled)
            let candidates = train.filter { !chosen.contains($0) }
            if candidates.isEmpty { break }
            let pool = Pool(count: n, classes: classes, probabilities: model!.probabilities(allX, count: n), embeddings: features, dimensions: dimensions)
            let picks = try Selector.select(strategy, pool: pool, candidates: candidates, labeled: labeled, budget: batch, seed: seed &+ UInt64(round))
            labeled += picks.map(\.row)  // the oracle answers
        }
        return points
    }

    /// The labels the curve needed to reach `target` accuracy (nil when it never did).
    package static func labelsToReach(_ target: Double, _ points: [Point]) -> Int? { points.first { $0.accuracy >= target }?.labels }
}

/// A line chart of learning curves as a standalone SVG: one line per strategy, accuracy against labels.
package func learningCurveSVG(_ curves: [(name: String, points: [Simulation.Point])], target: Double?) -> String {
    let width = 640, height = 400, left = 56, bottom = 44, top = 16, right = 150
    let maxLabels = curves.flatMap { $0.points.map(\.labels) }.max() ?? 1
    let lows = curves.flatMap { $0.points.map(\.accuracy) }
    let minY = max(0, ((lows.min() ?? 0) * 10).rounded(.down) / 10), maxY = 1.0
    func x(_ v: Int) -> Double { Double(left) + Double(v) / Double(maxLabels) * Double(width - left - right) }
    func y(_ v: Double) -> Double { Double(height - bottom) - (v - minY) / (maxY - minY) * Double(height - bottom - top) }
    var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" font-family=\"sans-serif\" font-size=\"12\">"
    svg += "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>"
    svg += "<line x1=\"\(left)\" y1=\"\(height - bottom)\" x2=\"\(width - right)\" y2=\"\(height - bottom)\" stroke=\"#333\"/>"
    svg += "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(height - bottom)\" stroke=\"#333\"/>"
    // About five ticks, at a 1-2-5 step.
    let step = (0...9).flatMap { e in [1, 2, 5].map { $0 * Int(pow(10, Double(e))) } }.first { maxLabels / $0 <= 6 } ?? max(1, maxLabels)
    for v in stride(from: 0, through: maxLabels, by: step) {
        svg += "<text x=\"\(String(format: "%.1f", x(v)))\" y=\"\(height - bottom + 16)\" text-anchor=\"middle\">\(v)</text>"
    }
    for t in stride(from: minY, through: maxY + 1e-9, by: 0.1) {
        svg += "<text x=\"\(left - 6)\" y=\"\(String(format: "%.1f", y(t) + 4))\" text-anchor=\"end\">\(String(format: "%.1f", t))</text>"
        svg += "<line x1=\"\(left)\" y1=\"\(String(format: "%.1f", y(t)))\" x2=\"\(width - right)\" y2=\"\(String(format: "%.1f", y(t)))\" stroke=\"#eee\"/>"
    }
    // Axis titles: x centred under the axis, y turned along its axis (clear of the tick numbers).
    svg += "<text x=\"\(left + (width - left - right) / 2)\" y=\"\(height - 8)\" text-anchor=\"middle\">labels</text>"
    svg += "<text transform=\"rotate(-90)\" x=\"\(-(top + (height - bottom - top) / 2))\" y=\"14\" text-anchor=\"middle\">test accuracy</text>"
    if let target, target >= minY {
        svg += "<line x1=\"\(left)\" y1=\"\(String(format: "%.1f", y(target)))\" x2=\"\(width - right)\" y2=\"\(String(format: "%.1f", y(target)))\" stroke=\"#c92a2a\" stroke-dasharray=\"4,3\"/>"
        // Labelled just above the line, inside the plot at its left (the legend has the right margin).
        svg += "<text x=\"\(left + 6)\" y=\"\(String(format: "%.1f", y(target) - 4))\" fill=\"#c92a2a\">target \(String(format: "%g", target))</text>"
    }
    // Tableau 10: ten colours told apart also by most colour-blind readers; lines after the fifth are dashed too.
    let palette = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]
    let dashes = ["", "", "", "", "", "6,3", "2,2", "8,3,2,3", "4,4", "1,3"]
    // The legend in the right margin, one row each.
    let legendTop = top + 6
    for (i, curve) in curves.enumerated() {
        let colour = palette[i % palette.count], dash = dashes[i % dashes.count]
        let path = curve.points.map { "\(String(format: "%.1f", x($0.labels))),\(String(format: "%.1f", y($0.accuracy)))" }.joined(separator: " ")
        let dashed = dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\""
        svg += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"\(dashed)/>"
        svg += "<line x1=\"\(width - right + 8)\" y1=\"\(legendTop + i * 18)\" x2=\"\(width - right + 28)\" y2=\"\(legendTop + i * 18)\" stroke=\"\(colour)\" stroke-width=\"2\"\(dashed)/>"
        svg += "<text x=\"\(width - right + 32)\" y=\"\(legendTop + i * 18 + 4)\">\(esc(curve.name))</text>"
    }
    return svg + "</svg>\n"
}
