import CurateCore
import CurateImaging
import Foundation

extension Repository {
    /// A self-contained HTML page for reviewing a diff: inline thumbnails (no external files or scripts),
    /// boxes in class colours, changed labels highlighted, and the class-balance chart.
    package func diffHTML(_ diff: Diff, thumbnail: Int = 256) throws(VersioningError) -> String {
        let a = try side(diff.from)
        let b = diff.to == "working" ? try workingSide(base: a) : try side(diff.to)
        let renameOf = Dictionary(uniqueKeysWithValues: diff.renamed.map { ($0.to, $0.from) })
        var html = """
            <!doctype html><html><head><meta charset="utf-8"><title>curate diff \(esc(String(diff.from.prefix(10)))) → \(esc(String(diff.to.prefix(10))))</title>
            <style>
            body{font:14px system-ui,sans-serif;margin:24px;color:#222} h1{font-size:20px} h2{font-size:16px;margin-top:28px}
            .item{border:1px solid #ddd;border-radius:6px;padding:12px;margin:12px 0} .pair{display:flex;gap:16px;flex-wrap:wrap}
            .pair figure{margin:0} figcaption{font-size:12px;color:#666} .changes li{margin:2px 0}
            .changed{background:#fff3bf} .added{background:#d3f9d8} .removed{background:#ffe3e3} code{font-size:12px}
            table{border-collapse:collapse} td,th{padding:2px 8px;text-align:left}
            </style></head><body>
            <h1>curate diff <code>\(esc(String(diff.from.prefix(10))))</code> → <code>\(esc(diff.to == "working" ? "working tree" : String(diff.to.prefix(10))))</code></h1>
            <p>files: \(diff.added.count) added, \(diff.removed.count) removed, \(diff.modified.count) modified, \(diff.renamed.count) renamed;
            labels changed on \(diff.labels.count) items.</p>

            """
        html += "<h2>Class balance</h2>" + balanceChart(diff)
        html += String(format: "<p>chi-square %.2f (df %d, p %.3g); total-variation distance %.3f</p>", diff.shift.chiSquare,
                       diff.shift.degreesOfFreedom, diff.shift.pValue, diff.shift.totalVariation)
        html += "<h2>Labels changed</h2>"
        for item in diff.labels {
            let oldPath = renameOf[item.item] ?? item.item
            let before = try figure(a, path: oldPath, caption: "before", highlight: item.changes, side: .before, size: thumbnail)
            let after = try figure(b, path: item.item, caption: "after", highlight: item.changes, side: .after, size: thumbnail)
            var who = item.by.joined(separator: ", ")
            if let d = item.date { who += (who.isEmpty ? "" : ", ") + d.formatted(.iso8601) }
            html += "<div class=\"item\"><b>\(esc(item.item))</b> <small>\(esc(who))</small><div class=\"pair\">\(before)\(after)</div><ul class=\"changes\">"
            for change in item.changes {
                let cls = change.kind.hasSuffix("added") ? "added" : change.kind.hasSuffix("removed") ? "removed" : "changed"
                html += "<li class=\"\(cls)\">\(esc(change.description))</li>"
            }
            html += "</ul></div>\n"
        }
        if !(diff.added.isEmpty && diff.removed.isEmpty && diff.modified.isEmpty && diff.renamed.isEmpty) {
            html += "<h2>Files</h2><table>"
            for p in diff.added { html += "<tr class=\"added\"><td>A</td><td>\(esc(p))</td></tr>" }
            for p in diff.removed { html += "<tr class=\"removed\"><td>D</td><td>\(esc(p))</td></tr>" }
            for p in diff.modified { html += "<tr class=\"changed\"><td>M</td><td>\(esc(p))</td></tr>" }
            for r in diff.renamed { html += "<tr><td>R</td><td>\(esc(r.from)) → \(esc(r.to))</td></tr>" }
            html += "</table>"
        }
        return html + "</body></html>\n"
    }

    enum FigureSide { case before, after }

    private func figure(_ side: DiffSide, path: String, caption: String, highlight: [LabelChange], side which: FigureSide,
                        size: Int) throws(VersioningError) -> String {
        guard let entry = side.files[path] else { return "<figure><figcaption>\(caption): (no file)</figcaption></figure>" }
        let bytes: Data
        if side.name == "working" {
            bytes = FileManager.default.contents(atPath: tree.fullPath(path)) ?? Data()
        } else {
            bytes = try object(entry.hash)
        }
        guard let image = try? ImageDecoder(maxPixels: 1 << 26).decode(Array(bytes), format: .rgb8, source: path) else {
            return "<figure><figcaption>\(caption): (not an image)</figcaption></figure>"
        }
        guard let thumb = image.pixels.thumbnailDataURI(size: size) else { return "" }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(thumb.width)\" height=\"\(thumb.height)\" viewBox=\"0 0 \(image.pixels.width) \(image.pixels.height)\">"
        svg += "<image width=\"\(image.pixels.width)\" height=\"\(image.pixels.height)\" href=\"\(thumb.uri)\"/>"
        let stroke = max(1.5, Double(max(image.pixels.width, image.pixels.height)) / 200)
        let changedBoxes = Set(highlight.compactMap { which == .before ? $0.fromBox : $0.toBox })
        for annotation in try side.annotations(path) {
            guard case .object(let o) = annotation.label, let box = o.box else { continue }
            let name = side.schema.name(of: o.classID)
            let isChanged = changedBoxes.contains([box.x, box.y, box.width, box.height])
            svg += "<rect x=\"\(box.x)\" y=\"\(box.y)\" width=\"\(box.width)\" height=\"\(box.height)\" fill=\"none\" stroke=\"\(classColor(name))\" stroke-width=\"\(isChanged ? stroke * 2.5 : stroke)\"\(isChanged ? " stroke-dasharray=\"\(stroke * 4),\(stroke * 2)\"" : "")><title>\(esc(name))</title></rect>"
            svg += "<text x=\"\(box.x + stroke)\" y=\"\(box.y + stroke * 8)\" font-size=\"\(stroke * 8)\" fill=\"\(classColor(name))\">\(esc(name))</text>"
        }
        svg += "</svg>"
        let classes = try side.annotations(path).compactMap { a -> String? in
            switch a.label {
            case .classification(let c): return side.schema.name(of: c)
            case .multilabel(let cs): return cs.map { side.schema.name(of: $0) }.joined(separator: "|")
            default: return nil
            }
        }
        let label = classes.isEmpty ? "" : " — " + esc(classes.joined(separator: ", "))
        return "<figure>\(svg)<figcaption>\(caption)\(label)</figcaption></figure>"
    }

    private func balanceChart(_ diff: Diff) -> String {
        let classes = diff.classes
        guard !classes.isEmpty else { return "<p>(no labels)</p>" }
        let maximum = max(1, classes.map { max($0.before, $0.after) }.max() ?? 1)
        let rowHeight = 22, labelWidth = 140, barWidth = 360
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(labelWidth + barWidth + 120)\" height=\"\(classes.count * rowHeight + 24)\" font-size=\"12\">"
        svg += "<rect x=\"\(labelWidth)\" y=\"2\" width=\"10\" height=\"8\" fill=\"#adb5bd\"/><text x=\"\(labelWidth + 14)\" y=\"10\">before</text>"
        svg += "<rect x=\"\(labelWidth + 70)\" y=\"2\" width=\"10\" height=\"8\" fill=\"#1c7ed6\"/><text x=\"\(labelWidth + 84)\" y=\"10\">after</text>"
        for (i, c) in classes.enumerated() {
            let y = 18 + i * rowHeight
            let wb = barWidth * c.before / maximum, wa = barWidth * c.after / maximum
            svg += "<text x=\"0\" y=\"\(y + 13)\">\(esc(c.name))</text>"
            svg += "<rect x=\"\(labelWidth)\" y=\"\(y)\" width=\"\(wb)\" height=\"9\" fill=\"#adb5bd\"/>"
            svg += "<rect x=\"\(labelWidth)\" y=\"\(y + 10)\" width=\"\(wa)\" height=\"9\" fill=\"#1c7ed6\"/>"
            svg += "<text x=\"\(labelWidth + max(wb, wa) + 6)\" y=\"\(y + 15)\">\(c.before) → \(c.after)</text>"
        }
        return svg + "</svg>"
    }
}
