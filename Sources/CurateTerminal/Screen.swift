import CurateImaging
import Foundation

/// Lays out one full frame of the labeling screen for a window of `columns` × `rows`.
package enum Screen {
    package static let minimum = (columns: 40, rows: 12)

    /// Progress for the status line.
    package struct Progress: Sendable {
        package var done: Int
        package var total: Int
        package init(done: Int, total: Int) { self.done = done; self.total = total }
    }

    /// Rows the image may use in a window with `rows` rows.
    package static func imageRows(_ rows: Int) -> Int { max(1, rows - 5) }

    package static func frame(_ s: LabelSession, title: String, image: [String], error: String?, progress: Progress,
                             columns: Int, rows: Int, now: Date, color: Bool) -> String {
        var out = "\u{1B}[H\u{1B}[2J"
        func line(_ row: Int, _ text: String) { out += "\u{1B}[\(row);1H\u{1B}[2K" + text }
        guard columns >= minimum.columns, rows >= minimum.rows else {
            line(1, clip("terminal too small: \(minimum.columns)x\(minimum.rows) or more needed, this one is \(columns)x\(rows)", columns))
            line(2, clip("enlarge the window, or press q to quit", columns))
            return out
        }
        let bold = color ? "\u{1B}[1m" : "", reset = color ? "\u{1B}[0m" : ""
        line(1, bold + clip("curate label — \(title)" + (s.current.map { " — \($0.path)" } ?? ""), columns) + reset)
        let imageArea = imageRows(rows)
        switch s.mode {
        case .help:
            let help = ["keys:"] + s.classes.map { "  \($0.key)  \($0.name)" }.prefix(imageArea - 8) + [
                s.task == .boxes ? "  Tab / Shift-Tab  next / previous box    e  move the whole box or one edge" : "",
                s.task == .boxes ? "  arrows or h j k l  move 1%    Shift+arrows or H J K L  move 10%" : "",
                s.task == .boxes ? "  0-9  class of the box    c  next class    x  delete    n  new box    Enter  confirm the boxes" : "",
                s.task == .boxes ? "" : "  Enter  accept the suggestion" + (s.task == .multilabel ? " / confirm the selection" : ""),
                s.task == .review ? "  a / r  accept / reject" : "",
                "  s  skip    f  flag with a note    u  undo (repeatable" + (s.task == .boxes ? ": edits, then answers)" : ")"),
                "  i  instructions    ?  this help    q  quit (answers are already saved)",
                "", "any key returns to the item"]
            for (i, text) in help.filter({ !$0.isEmpty }).prefix(imageArea).enumerated() { line(2 + i, clip(text, columns)) }
        case .instructions:
            for (i, t) in wrap(s.instructions, columns, rows: imageArea).enumerated() { line(2 + i, t) }
        case .finished:
            if let reason = s.paused {
                var row = 3
                for text in wrap("Your work in this queue is paused for review: \(reason).", columns, rows: max(1, imageArea - 3)) { line(row, text); row += 1 }
                line(row, clip("Your answers so far are kept; a lead will look at them. You get no more items until then.", columns))
                line(row + 1, clip("This screen picks up again if the lead lets you continue; press q to quit", columns))
            } else {
                line(3, clip("Nothing left to label in this queue for you. Thank you! (\(s.answeredThisSession) answers this session)", columns))
                line(4, clip("New items appear here as they arrive; press q to quit", columns))
            }
        default:
            if let error {
                line(3, clip("cannot show this item: \(error)", columns))
                line(4, clip("s skips it, f flags it with a note", columns))
            } else {
                // (Rows a kitty or sixel image covers come empty: clearing them would erase a sixel.)
                for (i, l) in image.prefix(imageArea).enumerated() where !l.isEmpty { line(2 + i, l) }
                if let review = s.review {
                    let grid = ImageRenderer.fit(width: review.imageWidth, height: review.imageHeight, columns: columns, rows: imageArea)
                    out += boxOverlay(review, classes: s.classes, columns: grid.columns, rows: grid.rows, color: color)
                }
            }
        }
        // Legend.
        if s.task == .boxes {
            let keyed = s.classes.filter { $0.key.isNumber }
            var text = "", width = 0
            for c in keyed {
                let item = "\(c.key) \(c.name)  "
                guard width + item.count <= columns else { break }
                text += (color ? ansiColor(c.name) + "■" + reset : "") + item
                width += item.count + (color ? 1 : 0)
            }
            line(rows - 3, text + (keyed.count < s.classes.count && width + 14 <= columns ? "c: more classes" : ""))
        } else {
            let legend = s.classes.map { c -> String in
                let mark = s.task == .multilabel ? (s.selected.contains(c.id) ? "[x]" : "[ ]") : ""
                return "\(c.key)\(mark) \(c.name)"
            }.joined(separator: "  ")
            line(rows - 3, clip(legend, columns))
        }
        var hint: String
        if case .note(let text) = s.mode {
            hint = "flag note: \(text)_   (Enter saves, Esc cancels)"
        } else if let m = s.message {
            hint = m
        } else if let review = s.review {
            if let i = review.selected {
                let b = review.boxes[i]
                let name = s.classes.first { $0.id == b.classID }?.name ?? String(b.classID)
                hint = "box \(i + 1)/\(review.boxes.count) \(name) \(Int(b.x)),\(Int(b.y)) \(Int(b.width))×\(Int(b.height)) · arrows move the \(review.edge.rawValue) (e: edge) · Tab: next box · Enter confirms · ? keys"
            } else {
                hint = "no boxes: n adds one · Enter confirms that there is nothing to box"
            }
        } else if let sug = s.suggestion {
            hint = "suggestion: \(sug.name)" + (sug.confidence.map { String(format: " (%.0f%%)", $0 * 100) } ?? "") + " — Enter accepts"
        } else {
            hint = s.task == .multilabel ? "toggle classes, Enter confirms" : s.task == .review ? "a accepts, r rejects" : "press a class key"
        }
        line(rows - 2, clip(hint, columns))
        out += status(s, progress: progress, columns: columns, rows: rows, now: now, color: color)
        return out
    }

    /// The status line alone, on the last row (redrawn every second without touching the image): done/total,
    /// items per hour, ETA, time on this item.
    package static func status(_ s: LabelSession, progress: Progress, columns: Int, rows: Int, now: Date, color: Bool) -> String {
        let dim = color ? "\u{1B}[2m" : "", reset = color ? "\u{1B}[0m" : ""
        let elapsed = max(1, now.timeIntervalSince(s.sessionStarted))
        let rate = Double(s.answeredThisSession) / elapsed * 3600
        let remaining = max(0, progress.total - progress.done)
        let eta = rate > 0 ? duration(Double(remaining) / rate * 3600) : "–"
        let status = "done \(progress.done)/\(progress.total) · \(Int(rate.rounded()))/h · ETA \(eta) · this item \(String(format: "%.1f", max(0, now.timeIntervalSince(s.itemStarted)))) s · ? help · q quit"
        return "\u{1B}[\(rows);1H\u{1B}[2K" + dim + clip(status, columns) + reset
    }

    /// The boxes drawn over the image's cells (`columns` × `rows` cells from row 2, column 1) in their class
    /// colour, the selected one heavier and the edge the arrows move in reverse video (`*` without colour).
    static func boxOverlay(_ review: BoxReview, classes: [(id: Int, name: String, key: Character)], columns: Int, rows: Int, color: Bool) -> String {
        var out = ""
        let order = review.boxes.indices.filter { $0 != review.selected } + (review.selected.map { [$0] } ?? [])
        let (w, h) = (Double(review.imageWidth), Double(review.imageHeight))
        for i in order {
            let b = review.boxes[i], isSelected = i == review.selected
            let c0 = min(columns - 1, max(0, Int((b.x / w * Double(columns)).rounded(.down))))
            let c1 = min(columns - 1, max(c0, Int(((b.x + b.width) / w * Double(columns)).rounded(.up)) - 1))
            let r0 = min(rows - 1, max(0, Int((b.y / h * Double(rows)).rounded(.down))))
            let r1 = min(rows - 1, max(r0, Int(((b.y + b.height) / h * Double(rows)).rounded(.up)) - 1))
            let cls = classes.first { $0.id == b.classID }
            let glyphs: (h: String, v: String, tl: String, tr: String, bl: String, br: String) =
                !color ? (isSelected ? ("=", "#", "#", "#", "#", "#") : ("-", "|", "+", "+", "+", "+"))
                : isSelected ? ("━", "┃", "┏", "┓", "┗", "┛") : ("─", "│", "┌", "┐", "└", "┘")
            let paint = color ? ansiColor(cls?.name ?? String(b.classID)) + (isSelected ? "\u{1B}[1m" : "") : ""
            func put(_ r: Int, _ c: Int, _ text: String, active: Bool) {
                let mark = active ? (color ? "\u{1B}[7m" + text : String(repeating: "*", count: text.count)) : text
                out += "\u{1B}[\(2 + r);\(1 + c)H" + paint + mark + (color ? "\u{1B}[0m" : "")
            }
            let edge = isSelected ? review.edge : nil
            // Top and bottom edges, then the sides.
            for (r, isTop) in [(r0, true), (r1, false)] where isTop || r1 > r0 {
                let active = edge == (isTop ? .top : .bottom)
                var text = (isTop ? glyphs.tl : glyphs.bl) + String(repeating: glyphs.h, count: max(0, c1 - c0 - 1)) + (c1 > c0 ? (isTop ? glyphs.tr : glyphs.br) : "")
                if isTop, c1 - c0 >= 3, let cls {
                    let tag = String("\(cls.key) \(cls.name)".prefix(c1 - c0 - 1))
                    text = glyphs.tl + tag + String(repeating: glyphs.h, count: max(0, c1 - c0 - 1 - tag.count)) + glyphs.tr
                }
                put(r, c0, text, active: active)
            }
            for r in stride(from: r0 + 1, to: r1, by: 1) {
                put(r, c0, glyphs.v, active: edge == .left)
                if c1 > c0 { put(r, c1, glyphs.v, active: edge == .right) }
            }
        }
        return out
    }

    /// The 256-colour escape nearest the class's colour (the same hue as in the HTML pages).
    static func ansiColor(_ name: String) -> String {
        let (r, g, b) = classRGB(name)
        let q = { (v: UInt8) in Int((Double(v) / 255 * 5).rounded()) }
        return "\u{1B}[38;5;\(16 + 36 * q(r) + 6 * q(g) + q(b))m"
    }

    package static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }

    /// Text cut to `columns` characters (an ellipsis marks the cut).
    package static func clip(_ text: String, _ columns: Int) -> String {
        text.count <= columns ? text : String(text.prefix(max(0, columns - 1))) + "…"
    }

    /// Text wrapped at word boundaries to `columns`, paragraphs kept, at most `rows` lines (the last then says how
    /// many are cut). Tabs become spaces; control characters are dropped so the text cannot move the cursor.
    package static func wrap(_ text: String, _ columns: Int, rows: Int = .max) -> [String] {
        let columns = max(1, columns)
        let clean = String(text.replacingOccurrences(of: "\t", with: "    ").unicodeScalars.filter { $0 == "\n" || !CharacterSet.controlCharacters.contains($0) })
        var lines: [String] = []
        for paragraph in clean.split(separator: "\n", omittingEmptySubsequences: false) {
            var current = ""
            for var word in paragraph.split(separator: " ") {
                while word.count > columns {   // a word longer than the line is cut
                    if !current.isEmpty { lines.append(current); current = "" }
                    lines.append(String(word.prefix(columns)))
                    word = word.dropFirst(columns)
                }
                if !current.isEmpty && current.count + 1 + word.count > columns { lines.append(current); current = "" }
                current += (current.isEmpty ? "" : " ") + word
            }
            lines.append(current)
        }
        if lines.count > rows {
            let hidden = lines.count - rows + 1
            lines = Array(lines.prefix(max(0, rows - 1))) + ["… \(hidden) more lines"]
        }
        return lines
    }
}
