import CurateTestSupport
import Foundation
import Testing

/// The charts as a browser draws them (headless Chromium, real fonts): no two texts of a chart overlap, axes have
/// enough ticks, lines and colours are told apart and explained. Screenshots are left beside the pages.
@Suite struct ChartTests {
    /// quality.html of the bundled crowd: the annotator scatter (eli/cleo, fay/gus sit close), the per-class
    /// charts, the confusion matrix.
    @Test func qualityPageChartsDoNotOverlap() throws {
        let scratch = ScratchDirectory()
        let digits = TestFixtures.repoPath("datasets/digits")
        let run = try CLI.run(["validate", "--labels", digits + "/crowd.jsonl", "--format", "jsonl", "--images", digits,
                               "--gold", digits + "/gold.csv", "--report", scratch.path + "/quality.html"], in: scratch.path)
        #expect(run.exitCode == 0, "\(run.stderr)")
        let html = try String(contentsOfFile: scratch.path + "/quality.html", encoding: .utf8)
        let boxes = try Chromium.textBoxes(of: html, page: scratch.path + "/quality-check.html")
        #expect(boxes.count > 20 && boxes.contains { $0.text == "eli" } && boxes.contains { $0.text == "gus" }, "\(boxes.prefix(5))")
        let overlaps = Chromium.overlapping(boxes)
        #expect(overlaps.isEmpty, "overlapping texts: \(overlaps.prefix(6).map { "\($0.0) / \($0.1)" })")
        // The log axis of the speed chart has at least three ticks: numbers on one row of its SVG.
        let speed = boxes.filter { $0.svg == boxes.first { $0.text.hasPrefix("median seconds per item") }?.svg }
        let rows = Dictionary(grouping: speed.filter { Double($0.text) != nil }, by: { Int($0.y.rounded()) })
        #expect((rows.values.map(\.count).max() ?? 0) >= 3, "\(speed.map(\.description))")
        // Class balance: one colour for all bars (no red that reads as a problem), said in words.
        #expect(!html.contains("fill=\"#c92a2a\"/><text") && html.contains("items per class"))
    }

    /// The learning-curve SVG with eight strategies: a distinct colour (and dash) each, the target line labelled,
    /// no text on another.
    @Test func learningCurveChartIsReadable() throws {
        let scratch = ScratchDirectory()
        let digits = TestFixtures.repoPath("datasets/digits")
        let strategies = "random,least-confidence,margin,entropy,k-center,badge,cluster-margin,class-balanced"
        let run = try CLI.run(["simulate", "--labels", digits + "/labels.csv", "--format", "csv", "--images", digits, "--test", digits + "/test.txt",
                               "--strategies", strategies, "--rounds", "2", "--batch", "10", "--seeds", "1", "--target", "0.8",
                               "--plot", scratch.path + "/curve.svg"], in: scratch.path)
        #expect(run.exitCode == 0, "\(run.stderr)")
        let svg = try String(contentsOfFile: scratch.path + "/curve.svg", encoding: .utf8)
        let boxes = try Chromium.textBoxes(of: svg, page: scratch.path + "/curve-check.html", width: 800, height: 500)
        let overlaps = Chromium.overlapping(boxes)
        #expect(overlaps.isEmpty, "overlapping texts: \(overlaps.prefix(6).map { "\($0.0) / \($0.1)" })")
        #expect(boxes.contains { $0.text == "target 0.8" })
        let ticks = Dictionary(grouping: boxes.filter { Int($0.text) != nil }, by: { Int($0.y.rounded()) }).values.map(\.count).max() ?? 0
        #expect(ticks >= 3 && ticks <= 8, "\(boxes.map(\.description))")
        let colours = svg.components(separatedBy: "<polyline").dropFirst().compactMap { $0.components(separatedBy: "stroke=\"").dropFirst().first?.prefix(7) }
        #expect(colours.count == 8 && Set(colours).count == 8, "\(colours)")
    }
}
