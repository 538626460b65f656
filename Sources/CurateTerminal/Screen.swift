import Foundation

/// Lays out one full frame of the labeling screen for a window of `columns` × `rows`.
public enum Screen {
    public static let minimum = (columns: 40, rows: 12)

    /// Progress for the status line.
    public struct Progress: Sendable {
        public var done: Int
        public var total: Int
        public init(done: Int, total: Int) { self.done = done; self.total = total }
    }

    /// Rows the image may use in a window with `rows` rows.
    public static func imageRows(_ rows: Int) -> Int { max(1, rows - 5) }

    public static func frame(_ s: LabelSession, title: String, image: [String], error: String?, progress: Progress,
                             columns: Int, rows: Int, now: Date, color: Bool) -> String {
        var out = "\u{1B}[H\u{1B}[2J"
        func line(_ row: Int, _ text: String) { out += "\u{1B}[\(row);1H\u{1B}[2K" + text }
        guard columns >= minimum.columns, rows >= minimum.rows else {
            line(1, clip("terminal too small: \(minimum.columns)x\(minimum.rows) or more needed, this one is \(columns)x\(rows)", columns))
            line(2, clip("enlarge the window, or press q to quit", columns))
            return out
        }
        let bold = color ? "\u{1B}[1m" : "", dim = color ? "\u{1B}[2m" : "", reset = color ? "\u{1B}[0m" : ""
        line(1, bold + clip("curate label — \(title)" + (s.current.map { " — \($0.path)" } ?? ""), columns) + reset)
        let imageArea = imageRows(rows)
        switch s.mode {
        case .help:
            let help = ["keys:"] + s.classes.map { "  \($0.key)  \($0.name)" }.prefix(imageArea - 8) + [
                "  Enter  accept the suggestion" + (s.task == .multilabel ? " / confirm the selection" : ""),
                s.task == .review ? "  a / r  accept / reject" : "",
                "  s  skip    f  flag with a note    u  undo (repeatable)",
                "  i  instructions    ?  this help    q  quit (answers are already saved)",
                "", "any key returns to the item"]
            for (i, text) in help.filter({ !$0.isEmpty }).prefix(imageArea).enumerated() { line(2 + i, clip(text, columns)) }
        case .instructions:
            let text = s.instructions.split(separator: "\n", omittingEmptySubsequences: false).flatMap { wrap(String($0), columns) }
            for (i, t) in text.prefix(imageArea).enumerated() { line(2 + i, t) }
        case .finished:
            line(3, clip("Nothing left to label in this queue for you. Thank you! (\(s.answeredThisSession) answers this session)", columns))
            line(4, clip("press q to quit", columns))
        default:
            if let error {
                line(3, clip("cannot show this item: \(error)", columns))
                line(4, clip("s skips it, f flags it with a note", columns))
            } else {
                for (i, l) in image.prefix(imageArea).enumerated() { line(2 + i, l) }
            }
        }
        // Legend.
        let legend = s.classes.map { c -> String in
            let mark = s.task == .multilabel ? (s.selected.contains(c.id) ? "[x]" : "[ ]") : ""
            return "\(c.key)\(mark) \(c.name)"
        }.joined(separator: "  ")
        line(rows - 3, clip(legend, columns))
        var hint: String
        if case .note(let text) = s.mode {
            hint = "flag note: \(text)_   (Enter saves, Esc cancels)"
        } else if let m = s.message {
            hint = m
        } else if let sug = s.suggestion {
            hint = "suggestion: \(sug.name)" + (sug.confidence.map { String(format: " (%.0f%%)", $0 * 100) } ?? "") + " — Enter accepts"
        } else {
            hint = s.task == .multilabel ? "toggle classes, Enter confirms" : s.task == .review ? "a accepts, r rejects" : "press a class key"
        }
        line(rows - 2, clip(hint, columns))
        // Status: done/total, items per hour, ETA, time on this item.
        let elapsed = max(1, now.timeIntervalSince(s.sessionStarted))
        let rate = Double(s.answeredThisSession) / elapsed * 3600
        let remaining = max(0, progress.total - progress.done)
        let eta = rate > 0 ? duration(Double(remaining) / rate * 3600) : "–"
        let status = "done \(progress.done)/\(progress.total) · \(Int(rate.rounded()))/h · ETA \(eta) · this item \(String(format: "%.1f", max(0, now.timeIntervalSince(s.itemStarted)))) s · ? help · q quit"
        line(rows, dim + clip(status, columns) + reset)
        return out
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }

    /// Text cut to `columns` characters (an ellipsis marks the cut).
    static func clip(_ text: String, _ columns: Int) -> String {
        text.count <= columns ? text : String(text.prefix(max(0, columns - 1))) + "…"
    }

    static func wrap(_ text: String, _ columns: Int) -> [String] {
        var lines: [String] = [], current = ""
        for word in text.split(separator: " ") {
            if current.count + word.count + 1 > columns, !current.isEmpty { lines.append(current); current = "" }
            current += (current.isEmpty ? "" : " ") + word
        }
        lines.append(current)
        return lines
    }
}
