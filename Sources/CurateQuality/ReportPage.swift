import CurateCore
import CurateImaging
import Foundation

/// The self-contained HTML page of `curate validate --report`: inline SVG charts and inline thumbnails, no
/// scripts and nothing fetched from elsewhere.
package struct QualityReportPage {
    package var title: String
    package var set: LabelSet
    package var findings: [Finding]
    package var crowd: LabeledCrowd?
    package var consensus: Crowd.Result?
    package var annotators: AnnotatorReport?
    /// The pixels of an item, for thumbnails (nil when unavailable).
    package var image: (String) -> PixelBuffer?

    package init(title: String, set: LabelSet, findings: [Finding], crowd: LabeledCrowd?, consensus: Crowd.Result?,
                annotators: AnnotatorReport?, image: @escaping (String) -> PixelBuffer?) {
        self.title = title
        self.set = set
        self.findings = findings
        self.crowd = crowd
        self.consensus = consensus
        self.annotators = annotators
        self.image = image
    }

    func name(_ k: Int) -> String { set.schema.name(of: k) }

    package func render(maxIssues: Int = 60) -> String {
        var html = """
            <!doctype html><html><head><meta charset="utf-8"><title>\(esc(title))</title>
            <style>
            body{font:14px system-ui,sans-serif;margin:24px;color:#222;max-width:1100px} h1{font-size:20px} h2{font-size:16px;margin-top:28px}
            table{border-collapse:collapse} td,th{padding:3px 8px;text-align:left;border-bottom:1px solid #eee;vertical-align:top}
            .thumb{width:64px;height:auto;image-rendering:pixelated;border:1px solid #ccc} .spam{color:#c92a2a} .review{color:#e67700} .trusted{color:#2b8a3e}
            .charts{display:flex;flex-wrap:wrap;gap:32px} small{color:#666}
            </style></head><body><h1>\(esc(title))</h1>

            """
        html += "<p>\(set.items.count) items, \(set.annotations.count) labels, \(findings.count) finding\(findings.count == 1 ? "" : "s")"
        if let crowd { html += "; \(crowd.annotators.count) annotators gave \(crowd.crowd.responses.count) answers on \(crowd.items.count) items" }
        html += ".</p><div class=\"charts\">"
        html += "<div><h2>Class balance</h2><small>items per class (each class's labels; one colour: a bar is a count, not a verdict)</small><br>" + balanceChart() + "</div>"
        if let crowd {
            html += "<div><h2>Agreement per class</h2>" + agreementChart(crowd.ratings) + "</div>"
        }
        html += "</div>"
        if let crowd, let consensus {
            html += "<div class=\"charts\"><div><h2>Answers against the consensus</h2>" + confusionMatrix(crowd, consensus) + "</div>"
            if let annotators { html += "<div><h2>Annotator speed and agreement</h2>" + speedChart(annotators, names: crowd.annotators) + "</div>" }
            html += "</div>"
            if let annotators { html += annotatorTable(annotators, names: crowd.annotators) }
            html += leastCertain(crowd, consensus)
        }
        html += issueList(maxIssues)
        return html + "</body></html>\n"
    }

    func thumbnail(_ path: String) -> String {
        guard !path.isEmpty, let pixels = image(path), let thumb = pixels.thumbnailDataURI(size: 128) else { return "" }
        return "<img class=\"thumb\" alt=\"\(esc(path))\" src=\"\(thumb.uri)\">"
    }

    func balanceChart() -> String {
        var counts: [Int: Int] = [:]
        for (_, k) in givenClasses(set) { counts[k, default: 0] += 1 }
        for a in set.annotations { if case .object(let o) = a.label { counts[o.classID, default: 0] += 1 } }
        let classes = counts.keys.sorted()
        guard let top = counts.values.max(), top > 0 else { return "<p>(no labels)</p>" }
        let row = 20, label = 110, bar = 300
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(label + bar + 60)\" height=\"\(classes.count * row + 8)\" font-size=\"12\">"
        for (i, k) in classes.enumerated() {
            let y = 4 + i * row, w = bar * counts[k]! / top
            svg += "<text x=\"0\" y=\"\(y + 12)\">\(esc(name(k)))</text><rect x=\"\(label)\" y=\"\(y)\" width=\"\(w)\" height=\"14\" fill=\"#4c6ef5\"/>"
            svg += "<text x=\"\(label + w + 4)\" y=\"\(y + 12)\">\(counts[k]!)</text>"
        }
        return svg + "</svg>"
    }

    func agreementChart(_ ratings: Ratings) -> String {
        let perClass = ratings.alphaPerCategory().compactMap { k, v in v.map { (Int(k), $0) } }.sorted { $0.0 < $1.0 }
        let overall = ratings.krippendorffAlpha()
        let row = 20, label = 110, bar = 300
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(label + bar + 60)\" height=\"\(perClass.count * row + 30)\" font-size=\"12\">"
        for (i, (k, alpha)) in perClass.enumerated() {
            let y = 4 + i * row, w = Int(Double(bar) * max(0, min(1, alpha)))
            svg += "<text x=\"0\" y=\"\(y + 12)\">\(esc(name(k)))</text><rect x=\"\(label)\" y=\"\(y)\" width=\"\(w)\" height=\"14\" fill=\"#1c7ed6\"/>"
            svg += "<text x=\"\(label + w + 4)\" y=\"\(y + 12)\">\(String(format: "%.2f", alpha))</text>"
        }
        if let overall {
            let x = label + Int(Double(bar) * max(0, min(1, overall))), bottom = perClass.count * row + 6
            svg += "<line x1=\"\(x)\" y1=\"0\" x2=\"\(x)\" y2=\"\(bottom)\" stroke=\"#c92a2a\" stroke-dasharray=\"4,3\"/>"
            svg += "<text x=\"\(label)\" y=\"\(bottom + 16)\" fill=\"#c92a2a\">overall Krippendorff's alpha \(String(format: "%.3f", overall))</text>"
        }
        return svg + "</svg>"
    }

    /// Rows: the consensus class; columns: the annotators' answers; shade by the row share.
    func confusionMatrix(_ crowd: LabeledCrowd, _ consensus: Crowd.Result) -> String {
        let k = crowd.crowd.classes
        var counts = [Int](repeating: 0, count: k * k)
        for r in crowd.crowd.responses where consensus.labels[r.task] >= 0 { counts[consensus.labels[r.task] * k + r.label] += 1 }
        let used = (0..<k).filter { c in (0..<k).contains { counts[c * k + $0] + counts[$0 * k + c] > 0 } }
        let cell = 34, left = 90, topMargin = 40
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(left + used.count * cell + 10)\" height=\"\(topMargin + used.count * cell + 10)\" font-size=\"11\">"
        svg += "<text x=\"\(left)\" y=\"12\">answer →</text><text x=\"0\" y=\"\(topMargin - 4)\">consensus ↓</text>"
        for (j, b) in used.enumerated() { svg += "<text x=\"\(left + j * cell + 4)\" y=\"\(topMargin - 6)\">\(esc(name(b)))</text>" }
        for (i, a) in used.enumerated() {
            let total = max(1, used.reduce(0) { $0 + counts[a * k + $1] })
            svg += "<text x=\"0\" y=\"\(topMargin + i * cell + 20)\">\(esc(name(a)))</text>"
            for (j, b) in used.enumerated() {
                let share = Double(counts[a * k + b]) / Double(total)
                let x = left + j * cell, y = topMargin + i * cell
                svg += "<rect x=\"\(x)\" y=\"\(y)\" width=\"\(cell - 2)\" height=\"\(cell - 2)\" fill=\"rgba(28,126,214,\(String(format: "%.3f", share)))\"><title>\(esc(name(a))) answered \(esc(name(b))): \(counts[a * k + b])</title></rect>"
                if counts[a * k + b] > 0 {
                    svg += "<text x=\"\(x + 3)\" y=\"\(y + 20)\" fill=\"\(share > 0.5 ? "#fff" : "#222")\">\(counts[a * k + b])</text>"
                }
            }
        }
        return svg + "</svg>"
    }

    /// x: median seconds per item (log scale, 1-2-5 ticks); y: agreement with the consensus; colour: the verdict.
    /// Names are placed beside their point where they hit no other name or point (right, left, above, below, then
    /// further out), so close annotators stay readable.
    func speedChart(_ report: AnnotatorReport, names: [String]) -> String {
        let points = report.annotators.filter { $0.medianSeconds != nil }
        guard !points.isEmpty else { return "<p>(no times recorded)</p>" }
        let width = 460, height = 290, left = 52, bottom = 44, top = 12, right = 16
        let logs = points.map { log10(max($0.medianSeconds!, 0.01)) }
        var lo = (logs.min() ?? 0) - 0.15, hi = (logs.max() ?? 1) + 0.15
        // Ticks at 1, 2, 5 × 10^k; the range widens until it holds three.
        func ticks() -> [Double] {
            (Int((lo).rounded(.down)) - 1...Int(hi.rounded(.up)) + 1).flatMap { e in [1.0, 2, 5].map { $0 * pow(10, Double(e)) } }
                .filter { log10($0) >= lo && log10($0) <= hi }
        }
        while ticks().count < 3 { lo -= 0.1; hi += 0.1 }
        let plotW = Double(width - left - right), plotH = Double(height - bottom - top)
        func px(_ l: Double) -> Double { Double(left) + (l - lo) / (hi - lo) * plotW }
        func py(_ a: Double) -> Double { Double(height - bottom) - a * plotH }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" font-size=\"11\" font-family=\"sans-serif\">"
        svg += "<line x1=\"\(left)\" y1=\"\(height - bottom)\" x2=\"\(width - right)\" y2=\"\(height - bottom)\" stroke=\"#888\"/><line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(height - bottom)\" stroke=\"#888\"/>"
        svg += "<text x=\"\(left + Int(plotW / 2))\" y=\"\(height - 8)\" text-anchor=\"middle\">median seconds per item (log scale)</text>"
        svg += "<text transform=\"rotate(-90)\" x=\"\(-(top + Int(plotH / 2)))\" y=\"14\" text-anchor=\"middle\">agreement with consensus</text>"
        for a in [0.0, 0.5, 1.0] {
            svg += "<text x=\"\(left - 6)\" y=\"\(String(format: "%.1f", py(a) + 4))\" text-anchor=\"end\">\(formatted(a))</text>"
            svg += "<line x1=\"\(left)\" y1=\"\(String(format: "%.1f", py(a)))\" x2=\"\(width - right)\" y2=\"\(String(format: "%.1f", py(a)))\" stroke=\"#eee\"/>"
        }
        for tick in ticks() {
            svg += "<text x=\"\(String(format: "%.1f", px(log10(tick))))\" y=\"\(height - bottom + 15)\" text-anchor=\"middle\">\(formatted(tick))</text>"
        }
        // Boxes taken so far (points and names), in pixels: x, y, width, height.
        var taken: [(Double, Double, Double, Double)] = []
        let placed = zip(points, logs).map { (a, l) in (a, px(l), py(a.agreement)) }
        for (_, x, y) in placed { taken.append((x - 6, y - 6, 12, 12)) }
        func free(_ b: (Double, Double, Double, Double)) -> Bool {
            b.0 >= Double(left) + 2 && b.0 + b.2 <= Double(width) && b.1 >= 0 && b.1 + b.3 <= Double(height - bottom) - 2
                && !taken.contains { t in b.0 < t.0 + t.2 && t.0 < b.0 + b.2 && b.1 < t.1 + t.3 && t.1 < b.1 + b.3 }
        }
        for (a, x, y) in placed {
            let colour = a.verdict == .likelySpam ? "#c92a2a" : a.verdict == .review ? "#e67700" : "#2b8a3e"
            svg += "<circle cx=\"\(String(format: "%.1f", x))\" cy=\"\(String(format: "%.1f", y))\" r=\"5\" fill=\"\(colour)\"><title>\(esc(names[a.worker])): \(a.verdict.rawValue)</title></circle>"
        }
        for (a, x, y) in placed {
            let name = names[a.worker]
            let w = Double(name.count) * 7 + 2, h = 13.0
            // Candidate spots: right, left, above, below, then the same further out.
            var spots: [(Double, Double)] = []
            for d in [0.0, 10, 20, 32] {
                spots += [(x + 8 + d, y - h / 2), (x - 8 - w - d, y - h / 2), (x - w / 2, y - 8 - h - d), (x - w / 2, y + 8 + d)]
            }
            let spot = spots.first { free(($0.0, $0.1, w, h)) } ?? spots[0]
            taken.append((spot.0, spot.1, w, h))
            svg += "<text x=\"\(String(format: "%.1f", spot.0))\" y=\"\(String(format: "%.1f", spot.1 + h - 3))\">\(esc(name))</text>"
        }
        return svg + "</svg>"
    }

    func annotatorTable(_ report: AnnotatorReport, names: [String]) -> String {
        var html = "<h2>Annotators</h2><table><tr><th>annotator</th><th>answers</th><th>agree</th><th>kappa</th><th>gold</th><th>median s</th><th>verdict</th><th>evidence</th></tr>"
        for a in report.annotators {
            let cls = a.verdict == .likelySpam ? "spam" : a.verdict.rawValue
            html += "<tr><td>\(esc(names[a.worker]))</td><td>\(a.answers)</td><td>\(String(format: "%.2f", a.agreement))</td><td>\(String(format: "%.2f", a.kappa))</td>"
            html += "<td>\(a.goldAccuracy.map { String(format: "%.2f", $0) } ?? "–")</td><td>\(a.medianSeconds.map { String(format: "%.1f", $0) } ?? "–")</td>"
            html += "<td class=\"\(cls)\">\(a.verdict.rawValue)</td><td>\(esc(a.evidence.joined(separator: "; ")))</td></tr>"
        }
        return html + "</table>"
    }

    func leastCertain(_ crowd: LabeledCrowd, _ consensus: Crowd.Result, count: Int = 20) -> String {
        let ranked = (0..<crowd.items.count).filter { consensus.labels[$0] >= 0 }.sorted { consensus.confidence[$0] < consensus.confidence[$1] }.prefix(count)
        guard !ranked.isEmpty else { return "" }
        var answers = [[String]](repeating: [], count: crowd.items.count)
        for r in crowd.crowd.responses { answers[r.task].append("\(crowd.annotators[r.worker]): \(name(r.label))") }
        var html = "<h2>Least certain consensus</h2><table><tr><th></th><th>item</th><th>consensus</th><th>confidence</th><th>answers</th></tr>"
        for t in ranked {
            html += "<tr><td>\(thumbnail(crowd.items[t]))</td><td>\(esc(crowd.items[t]))</td><td>\(esc(name(consensus.labels[t])))</td>"
            html += "<td>\(String(format: "%.2f", consensus.confidence[t]))</td><td>\(esc(answers[t].joined(separator: ", ")))</td></tr>"
        }
        return html + "</table>"
    }

    func issueList(_ limit: Int) -> String {
        guard !findings.isEmpty else { return "<h2>Findings</h2><p>None.</p>" }
        var html = "<h2>Findings</h2><table><tr><th></th><th>kind</th><th>item</th><th>problem</th></tr>"
        for f in findings.prefix(limit) {
            html += "<tr><td>\(thumbnail(f.item))</td><td>\(esc(f.kind.rawValue))</td><td>\(esc(f.item))</td><td>\(esc(f.message))</td></tr>"
        }
        if findings.count > limit { html += "<tr><td></td><td colspan=\"3\"><small>… \(findings.count - limit) more in --json</small></td></tr>" }
        return html + "</table>"
    }
}
