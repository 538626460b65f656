import CurateImaging
import Foundation

/// Lays out one full frame of the labeling screen for a window of `columns` × `rows`.
package enum Screen {
    package static let minimum = (columns: 40, rows: 12)

    /// Progress for the status line: the queue's, and this annotator's when known.
    package struct Progress: Sendable {
        /// Items complete (all the answers they need) and items in the queue.
        package var done: Int
        package var total: Int
        /// Answers this annotator has given in the queue (all sessions), and items they could still answer.
        package var mine: Int?
        package var open: Int?
        package init(done: Int, total: Int, mine: Int? = nil, open: Int? = nil) {
            self.done = done; self.total = total; self.mine = mine; self.open = open
        }
    }

    /// Rows of the legend and of the image for a window of `columns` × `rows` (the legend wraps over as many lines
    /// as the classes need, up to a third of the window; the rest is reached with `/`).
    package static func layout(_ s: LabelSession, columns: Int, rows: Int) -> (legend: [String], imageRows: Int) {
        let legend = legendLines(s, columns: columns, maxLines: max(1, (rows - 4) / 3), color: false)
        return (legend, max(1, rows - 4 - legend.count))
    }

    /// The class legend: every class with its key (`·` for those only `/` reaches), wrapped at `columns`; when
    /// they do not fit in `maxLines`, the last line says how many more there are.
    static func legendLines(_ s: LabelSession, columns: Int, maxLines: Int, color: Bool) -> [String] {
        let reset = color ? "\u{1B}[0m" : ""
        let entries: [(plain: String, shown: String)] = s.classes.map { c in
            let mark = s.task == .multilabel ? (s.selected.contains(c.id) ? "[x]" : "[ ]") : ""
            let text = "\(c.key.map(String.init) ?? "·")\(mark) \(c.name)"
            if s.task == .boxes { return ("■" + text, (color ? ansiColor(c.name) + "■" + reset : "■") + text) }
            return (text, text)
        }
        var lines: [String] = [], line = "", width = 0
        for (i, e) in entries.enumerated() {
            let sep = width == 0 ? 0 : 2
            if width > 0, width + sep + e.plain.count > columns {
                if lines.count == maxLines - 1 {
                    // No room for the rest: say so at the end of the last line.
                    var more = "  … \(entries.count - i) more (/ picks)"
                    while width + more.count > columns, let last = line.range(of: "  ", options: .backwards) {
                        let dropped = entries.count - i + line[last.upperBound...].components(separatedBy: "  ").count
                        line = String(line[..<last.lowerBound]); width = plainWidth(line)
                        more = "  … \(dropped) more (/ picks)"
                    }
                    lines.append(clip(line + more, columns))
                    return lines
                }
                lines.append(line); line = ""; width = 0
            }
            line += (width == 0 ? "" : "  ") + (e.plain.count > columns ? clip(e.plain, columns) : e.shown)
            width += (width == 0 ? 0 : 2) + min(columns, e.plain.count)
        }
        if !line.isEmpty || lines.isEmpty { lines.append(line) }
        return lines
    }

    /// Characters a line takes on screen (its escapes take none).
    static func plainWidth(_ text: String) -> Int {
        var n = 0, inEscape = false
        for ch in text.unicodeScalars {
            if inEscape { if (0x40...0x7E).contains(ch.value) && ch != "[" { inEscape = false }; continue }
            if ch == "\u{1B}" { inEscape = true; continue }
            n += 1
        }
        return n
    }

    /// The help screen's lines: only keys that work in this task.
    static func helpLines(_ s: LabelSession, columns: Int) -> [String] {
        var lines = ["keys:"]
        switch s.task {
        case .boxes:
            lines += ["  mouse  drag on the image draws a box, click selects one, drag its inside moves it, its border an edge",
                      "  Tab / Shift-Tab  next / previous box    e  move the whole box or one edge",
                      "  arrows or h j k l  move 1%    Shift+arrows or H J K L  move 10%",
                      "  class key  class of the box    c  next class    x  delete    n  new box    Enter  confirm the boxes"]
        case .multilabel:
            lines += ["  class key  toggle the class    Enter  confirm the selection"]
        case .review:
            lines += ["  a / r  accept / reject    class key  answer that class instead    Enter  accept the suggestion"]
        case .classify:
            lines += ["  class key  answer that class    Enter  accept the suggestion"]
        }
        lines += ["  /  pick a class by typing part of its name (all \(s.classes.count))",
                  "  s  skip    f  flag with a note    u  undo (repeatable" + (s.task == .boxes ? ": edits, then answers)" : ")") + "    p  your answers: change any",
                  "  + / -  zoom    z  view mode: arrows pan" + (s.task == .boxes ? "" : " (arrows pan whenever zoomed)") + "    mouse wheel  zoom",
                  "  i  instructions    ?  this help    q  quit (answers are already saved)"]
        let keyed = s.classes.filter { $0.key != nil }
        var classLine = "  classes:"
        var classLines: [String] = []
        for c in keyed {
            let item = " \(c.key!) \(c.name)"
            if classLine.count + item.count > columns { classLines.append(classLine); classLine = "          " }
            classLine += item
        }
        classLines.append(classLine)
        if keyed.count < s.classes.count { classLines.append("  \(s.classes.count - keyed.count) more classes have no key: / picks them") }
        return lines + classLines + ["", "any key returns to the item"]
    }

    package static func frame(_ s: LabelSession, title: String, image: [String], error: String?, progress: Progress,
                             columns: Int, rows: Int, now: Date, color: Bool) -> String {
        var out = "\u{1B}[H\u{1B}[2J"
        func line(_ row: Int, _ text: String) { out += "\u{1B}[\(row);1H\u{1B}[2K" + text }
        guard columns >= minimum.columns, rows >= minimum.rows else {
            let text = "Window too small: \(columns)x\(rows); curate label needs \(minimum.columns)x\(minimum.rows) or more. Enlarge it, or press q to quit."
            for (i, t) in wrap(text, columns, rows: max(1, rows)).enumerated() { line(1 + i, t) }
            return out
        }
        let bold = color ? "\u{1B}[1m" : "", reset = color ? "\u{1B}[0m" : ""
        let head = "curate label — \(title)"
        if let path = s.current?.path, head.count + 3 + path.count > columns {
            // Too long: the path is cut in its middle (its end names the file), the title gives way first.
            let pathWidth = max(min(path.count, columns / 2), columns - head.count - 3)
            line(1, bold + clip(head, max(0, columns - pathWidth - 3)) + " — " + clipMiddle(path, max(1, pathWidth)) + reset)
        } else {
            line(1, bold + head + (s.current.map { " — \($0.path)" } ?? "") + reset)
        }
        let (legendPlain, imageArea) = layout(s, columns: columns, rows: rows)
        switch s.mode {
        case .help:
            for (i, text) in helpLines(s, columns: columns).prefix(imageArea).enumerated() { line(2 + i, clip(text, columns)) }
        case .instructions:
            for (i, t) in wrap(s.instructions, columns, rows: imageArea).enumerated() { line(2 + i, t) }
        case .picker(let text, let at):
            let found = s.matches(text)
            line(2, clip("pick a class: \(text)_   (\(found.count) of \(s.classes.count) match; ↑↓ choose, Enter takes it, Esc cancels)", columns))
            let room = max(1, imageArea - 1)
            let first = max(0, min(at - room / 2, found.count - room))
            for (row, i) in (first..<min(found.count, first + room)).enumerated() {
                let c = found[i]
                let text = (i == at ? "> " : "  ") + "\(c.key.map(String.init) ?? " ") \(c.name)"
                line(3 + row, i == at && color ? "\u{1B}[7m" + clip(text, columns) + reset : clip(text, columns))
            }
        case .history(let at):
            let newest = Array(s.history.reversed())
            line(2, clip("your answers in this session, newest first (↑↓ choose, Enter takes it back to answer again, Esc returns)", columns))
            let room = max(1, imageArea - 1)
            let first = max(0, min(at - room / 2, newest.count - room))
            for (row, i) in (first..<min(newest.count, first + room)).enumerated() {
                let text = (i == at ? "> " : "  ") + "\(newest[i].summary)  ←  \(newest[i].path)"
                line(3 + row, i == at && color ? "\u{1B}[7m" + clip(text, columns) + reset : clip(text, columns))
            }
        case .finished:
            if let reason = s.paused {
                var row = 3
                for text in wrap("Your work in this queue is paused for review: \(reason).", columns, rows: max(1, imageArea - 3)) { line(row, text); row += 1 }
                line(row, clip("Your answers so far are kept; a lead will look at them. You get no more items until then.", columns))
                line(row + 1, clip("This screen picks up again if the lead lets you continue; press q to quit", columns))
            } else {
                let n = s.answeredThisSession
                line(3, clip("Nothing left to label in this queue for you. Thank you! (\(n) \(n == 1 ? "answer" : "answers") this session)", columns))
                line(4, clip("New items appear here as they arrive; press q to quit", columns))
            }
        default:
            if let error {
                line(3, clip("cannot show this item: \(error)", columns))
                line(4, clip("s skips it, f flags it with a note", columns))
            } else {
                // (Rows a kitty or sixel image covers come empty: clearing them would erase a sixel.)
                for (i, l) in image.prefix(imageArea).enumerated() where !l.isEmpty { line(2 + i, l) }
                if s.review != nil, let map = s.cellMap(columns: columns, rows: rows) {
                    out += boxOverlay(s.review!, classes: s.classes, map: map, color: color)
                }
            }
        }
        if s.mode != .finished {
            let legend = color ? legendLines(s, columns: columns, maxLines: legendPlain.count, color: true) : legendPlain
            for (i, text) in legend.enumerated() { line(rows - 2 - legend.count + i, text) }
        }
        var hint: String
        if case .note(let text) = s.mode {
            hint = "flag note: \(text)_   (Enter saves, Esc cancels)"
        } else if let m = s.message {
            hint = m
        } else if s.mode == .finished {
            hint = s.history.isEmpty ? "" : "u takes back your last answer, p lists this session's answers"
        } else if s.viewMode {
            hint = "view mode (\(s.zoom)×): arrows or h j k l pan, + - zoom, z or Esc leaves"
        } else if let review = s.review {
            if let i = review.selected {
                let b = review.boxes[i]
                let name = s.classes.first { $0.id == b.classID }?.name ?? String(b.classID)
                hint = "box \(i + 1)/\(review.boxes.count) \(name) \(Int(b.x)),\(Int(b.y)) \(Int(b.width))×\(Int(b.height)) · arrows move the \(review.edge.rawValue) (e: edge) · Tab: next box · Enter confirms · ? keys"
            } else {
                hint = "no boxes: drag on the image or press n to add one · Enter confirms that there is nothing to box"
            }
        } else if let sug = s.suggestion {
            hint = "suggestion: \(sug.name)" + (sug.confidence.map { String(format: " (%.0f%%)", $0 * 100) } ?? "") + " — Enter accepts"
        } else {
            hint = s.task == .multilabel ? "toggle classes, Enter confirms" : s.task == .review ? "a accepts, r rejects" : "press a class key (/ picks by name)"
        }
        if s.zoom > 1, !s.viewMode, s.message == nil, s.mode == .labeling { hint = "\(s.zoom)× · " + hint }
        line(rows - 2, clip(hint, columns))
        out += status(s, progress: progress, columns: columns, rows: rows, now: now, color: color)
        return out
    }

    /// The status line alone, on the last row (redrawn every second without touching the image): this annotator's
    /// answers, the queue's complete items, this annotator's items per hour and the time their open items would
    /// take at that pace, time on this item.
    package static func status(_ s: LabelSession, progress: Progress, columns: Int, rows: Int, now: Date, color: Bool) -> String {
        let dim = color ? "\u{1B}[2m" : "", reset = color ? "\u{1B}[0m" : ""
        let elapsed = max(1, now.timeIntervalSince(s.sessionStarted))
        let rate = Double(s.answeredThisSession) / elapsed * 3600
        let remaining = progress.open ?? max(0, progress.total - progress.done)
        let eta = remaining == 0 ? "0:00" : rate > 0 ? duration(Double(remaining) / rate * 3600) : "–"
        var parts: [String] = []
        if let mine = progress.mine { parts.append("you: \(mine)") }
        parts.append("queue: \(progress.done)/\(progress.total) complete")
        parts.append("\(Int(rate.rounded()))/h")
        parts.append((progress.open != nil ? "your ETA " : "ETA ") + eta)
        if s.mode != .finished, s.current != nil { parts.append("this item \(String(format: "%.1f", max(0, now.timeIntervalSince(s.itemStarted)))) s") }
        // The key reminders go first when the line is too long (? lists them all).
        for extra in [["? help", "q quit"], ["? help"]] where (parts + extra).joined(separator: " · ").count <= columns {
            parts += extra
            break
        }
        return "\u{1B}[\(rows);1H\u{1B}[2K" + dim + clip(parts.joined(separator: " · "), columns) + reset
    }

    /// The boxes drawn over the image's cells (the grid of `map`, from row 2, column 1) in their class colour, the
    /// selected one heavier and the edge the arrows move in reverse video (`*` without colour); parts out of view
    /// (zoomed in) are left out.
    static func boxOverlay(_ review: BoxReview, classes: [LabelSession.Class], map: CellMap, color: Bool) -> String {
        var out = ""
        let order = review.boxes.indices.filter { $0 != review.selected } + (review.selected.map { [$0] } ?? [])
        let (columns, rows) = (map.columns, map.rows)
        for i in order {
            let b = review.boxes[i], isSelected = i == review.selected
            let cells = map.cells(of: b)
            let (c0, c1, r0, r1) = (cells.c0, cells.c1, cells.r0, cells.r1)
            guard c1 >= 0, r1 >= 0, c0 < columns, r0 < rows else { continue }
            let cls = classes.first { $0.id == b.classID }
            let glyphs: (h: String, v: String, tl: String, tr: String, bl: String, br: String) =
                !color ? (isSelected ? ("=", "#", "#", "#", "#", "#") : ("-", "|", "+", "+", "+", "+"))
                : isSelected ? ("━", "┃", "┏", "┓", "┗", "┛") : ("─", "│", "┌", "┐", "└", "┘")
            let paint = color ? ansiColor(cls?.name ?? String(b.classID)) + (isSelected ? "\u{1B}[1m" : "") : ""
            /// Draws `text` from cell (r, c), leaving out the characters outside the grid.
            func put(_ r: Int, _ c: Int, _ text: String, active: Bool) {
                guard (0..<rows).contains(r) else { return }
                let chars = Array(text)
                let from = max(0, -c), to = min(chars.count, columns - c)
                guard from < to else { return }
                let visible = String(chars[from..<to])
                let mark = active ? (color ? "\u{1B}[7m" + visible : String(repeating: "*", count: visible.count)) : visible
                out += "\u{1B}[\(2 + r);\(1 + c + from)H" + paint + mark + (color ? "\u{1B}[0m" : "")
            }
            let edge = isSelected ? review.edge : nil
            // Top and bottom edges, then the sides.
            for (r, isTop) in [(r0, true), (r1, false)] where isTop || r1 > r0 {
                let active = edge == (isTop ? .top : .bottom)
                var text = (isTop ? glyphs.tl : glyphs.bl) + String(repeating: glyphs.h, count: max(0, c1 - c0 - 1)) + (c1 > c0 ? (isTop ? glyphs.tr : glyphs.br) : "")
                if isTop, c1 - c0 >= 3, let cls {
                    let tag = String("\(cls.key.map(String.init) ?? "·") \(cls.name)".prefix(c1 - c0 - 1))
                    text = glyphs.tl + tag + String(repeating: glyphs.h, count: max(0, c1 - c0 - 1 - tag.count)) + glyphs.tr
                }
                put(r, c0, text, active: active)
            }
            for r in stride(from: max(r0 + 1, 0), to: min(r1, rows), by: 1) {
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

    /// Text cut in the middle to `columns` characters, so both ends stay (a path keeps its file name).
    package static func clipMiddle(_ text: String, _ columns: Int) -> String {
        guard text.count > columns else { return text }
        guard columns > 2 else { return String(text.suffix(max(0, columns))) }
        let tail = (columns - 1) * 2 / 3, head = columns - 1 - tail
        return String(text.prefix(head)) + "…" + String(text.suffix(tail))
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
