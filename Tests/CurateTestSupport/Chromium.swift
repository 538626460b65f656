import Foundation

/// Pages and charts checked as a browser draws them: headless Chromium renders the page, measures every SVG
/// `<text>` as laid out with real fonts, and takes a screenshot (kept beside the page for a person to look at).
package enum Chromium {
    /// One text of an SVG as drawn: which SVG on the page, its content and its box in CSS pixels.
    package struct TextBox: Decodable, Sendable, CustomStringConvertible {
        package var svg: Int
        package var text: String
        package var x: Double, y: Double, w: Double, h: Double
        package var description: String { "'\(text)' at (\(Int(x)), \(Int(y))) \(Int(w))×\(Int(h))" }

        func overlaps(_ o: TextBox, margin: Double = 1) -> Bool {
            svg == o.svg && x + margin < o.x + o.w && o.x + margin < x + w && y + margin < o.y + o.h && o.y + margin < y + h
        }
    }

    /// The headless browser the install script provides.
    package static var executable: String {
        for name in ["chromium-headless-shell", "chromium", "chromium-browser"] {
            for dir in ["/usr/bin", "/usr/local/bin"] where FileManager.default.isExecutableFile(atPath: dir + "/" + name) { return dir + "/" + name }
        }
        return "/usr/bin/chromium-headless-shell"
    }

    /// Renders `html` (saved as `page`), returns every SVG text box; writes `page` + ".png" as a screenshot.
    package static func textBoxes(of html: String, page: String, width: Int = 1200, height: Int = 2400) throws -> [TextBox] {
        let probe = """
            <script>
            (function () {
              const out = [];
              document.querySelectorAll('svg').forEach((svg, i) => svg.querySelectorAll('text').forEach(t => {
                const b = t.getBoundingClientRect();
                out.push({svg: i, text: t.textContent, x: b.x, y: b.y, w: b.width, h: b.height});
              }));
              const pre = document.createElement('pre');
              pre.id = 'curate-layout';
              pre.textContent = JSON.stringify(out);
              document.body.appendChild(pre);
            })();
            </script>
            """
        let body = html.range(of: "</body>", options: .backwards).map { html.replacingCharacters(in: $0, with: probe + "</body>") } ?? "<html><body>" + html + probe + "</body></html>"
        try body.write(toFile: page, atomically: true, encoding: .utf8)
        let dom = try run(["--dump-dom", "file://" + page])
        _ = try? run(["--screenshot=" + page + ".png", "--window-size=\(width),\(height)", "file://" + page])
        guard let start = dom.range(of: "<pre id=\"curate-layout\">"), let end = dom.range(of: "</pre>", range: start.upperBound..<dom.endIndex) else {
            throw NSError(domain: "Chromium", code: 1, userInfo: [NSLocalizedDescriptionKey: "no layout in the dumped page: \(dom.prefix(300))"])
        }
        let json = String(dom[start.upperBound..<end.lowerBound]).replacingOccurrences(of: "&amp;", with: "&").replacingOccurrences(of: "&lt;", with: "<")
            .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
        return try JSONDecoder().decode([TextBox].self, from: Data(json.utf8))
    }

    /// Pairs of texts of one SVG that overlap as drawn.
    package static func overlapping(_ boxes: [TextBox]) -> [(TextBox, TextBox)] {
        var pairs: [(TextBox, TextBox)] = []
        for i in boxes.indices where boxes[i].w > 0 {
            for j in boxes.indices where j > i && boxes[j].w > 0 && boxes[i].overlaps(boxes[j]) { pairs.append((boxes[i], boxes[j])) }
        }
        return pairs
    }

    static func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--allow-file-access-from-files"] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
