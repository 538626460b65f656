import CurateStore
import CurateTerminal
import Foundation

/// `curate watch --json`: a queue's team at one moment.
package struct WatchReport: Codable, Sendable {
    package struct Disagreement: Codable, Sendable { package var classes: [String]; package var pairs: Int }
    package var queue: String
    package var items: Int, gold: Int, done: Int, answers: Int
    /// Answers still needed for every item to have its overlap.
    package var answersNeeded: Int
    package var perHour: Double?
    package var etaMinutes: Double?
    package var policy: Bool
    package var blocked: [String]
    package var annotators: [Standing]
    package var disagreements: [Disagreement]
    package var decisions: [QueueDecision]
    /// Milliseconds the last refresh took (reading the changes and judging everyone).
    package var refreshMilliseconds: Double

    package init(monitor: TeamMonitor, policy: VettingPolicy?, hasPolicy: Bool, refreshMilliseconds: Double, now: Date = Date()) {
        let judging = policy ?? Watch.defaultPolicy
        queue = monitor.queue
        items = monitor.totalItems; gold = monitor.goldItems; done = monitor.doneItems; answers = monitor.answers
        answersNeeded = monitor.answersNeeded
        perHour = monitor.pace(now: now)
        etaMinutes = perHour.flatMap { $0 > 0 ? Double(monitor.answersNeeded) / $0 * 60 : nil }
        self.policy = hasPolicy
        blocked = monitor.blocked.sorted()
        annotators = monitor.standings(policy: judging, now: now)
        disagreements = monitor.disagreedClasses(limit: 5).map { Disagreement(classes: [$0.0, $0.1], pairs: $0.2) }
        decisions = monitor.decisions
        self.refreshMilliseconds = refreshMilliseconds
    }
}

/// The lead's full-screen view of a labeling team (`curate watch`): per annotator their pace, gold accuracy with
/// its interval, agreement, verdict and evidence; the queue's progress, ETA, disputed classes and alerts; block
/// and unblock from the keyboard. Each refresh reads only what changed (`TeamMonitor.follow`) and, when the queue
/// has a vetting policy and this connection may vet, applies it.
package enum Watch {
    /// How verdicts are shown for a queue without a policy (nothing is decided automatically then).
    package static let defaultPolicy: VettingPolicy = {
        do { return try VettingPolicy(yaml: VettingPolicy.standardText, source: "standard") } catch { return VettingPolicy.empty }
    }()

    package enum Sort: String, CaseIterable, Sendable { case verdict, name, answers, gold, speed, agreement }

    /// What the screen shows besides the figures: selection, sort, the detail pane, alerts.
    package struct View: Sendable {
        package var sort: Sort = .verdict
        package var selected = 0
        package var detail = false
        package var alerts: [String] = []
        package var message: String?
        var verdicts: [String: String] = [:]
        package init() {}

        /// Notes decisions and verdict changes as alerts, newest last.
        package mutating func note(_ report: WatchReport, newDecisions: [QueueDecision], now: Date) {
            let clock = DateFormatter()
            clock.dateFormat = "HH:mm:ss"
            for d in newDecisions {
                alerts.append("\(clock.string(from: d.created)) \(d.by) \(d.action == .block ? "blocked" : d.action == .unblock ? "unblocked" : d.action == .review ? "flagged for review" : "cleared") \(d.annotator): \(d.reason)")
            }
            for s in report.annotators {
                let before = verdicts[s.annotator]
                if before != nil, before != s.verdict, ["review", "likely spam"].contains(s.verdict) {
                    alerts.append("\(clock.string(from: now)) \(s.annotator) now \(s.verdict): \(s.evidence.first ?? "")")
                }
                verdicts[s.annotator] = s.verdict
            }
            if alerts.count > 50 { alerts.removeFirst(alerts.count - 50) }
        }

        package func ordered(_ list: [Standing]) -> [Standing] {
            let rank = ["blocked": 0, "likely spam": 1, "review": 2, "new": 3, "trusted": 4]
            return list.sorted { a, b in
                switch sort {
                case .verdict: return (rank[a.verdict] ?? 5, a.annotator) < (rank[b.verdict] ?? 5, b.annotator)
                case .name: return a.annotator < b.annotator
                case .answers: return (-a.answers, a.annotator) < (-b.answers, b.annotator)
                case .gold: return (a.goldAccuracy ?? 2, a.annotator) < (b.goldAccuracy ?? 2, b.annotator)
                case .speed: return (a.speedRatio ?? 99, a.annotator) < (b.speedRatio ?? 99, b.annotator)
                case .agreement: return (a.agreement ?? 2, a.annotator) < (b.agreement ?? 2, b.annotator)
                }
            }
        }
    }

    static func f(_ v: Double?, _ format: String) -> String { v.map { String(format: format, $0) } ?? "-" }

    /// One screen.
    package static func frame(_ report: WatchReport, view: View, monitor: TeamMonitor, columns: Int, rows: Int, color: Bool, now: Date) -> String {
        var out = "\u{1B}[H"
        var row = 1
        func line(_ text: String, _ style: String = "") {
            guard row <= rows else { return }
            out += "\u{1B}[\(row);1H\u{1B}[2K" + (color ? style : "") + Screen.clip(text, columns) + (color && !style.isEmpty ? "\u{1B}[0m" : "")
            row += 1
        }
        let bold = "\u{1B}[1m"
        guard columns >= 60, rows >= 12 else {
            line("terminal too small: 60x12 or more needed, this one is \(columns)x\(rows); q quits")
            out += "\u{1B}[J"
            return out
        }
        line("curate watch — queue \(report.queue)" + (report.policy ? " — vetting policy on" : " — no vetting policy (verdicts shown, nothing decided)"), bold)
        let eta = report.etaMinutes.map { m -> String in
            m < 1 ? "under a minute" : m < 60 ? String(format: "%.0f min", m) : String(format: "%dh %02dm", Int(m) / 60, Int(m) % 60)
        } ?? "-"
        line("done \(report.done)/\(report.items) items (\(report.gold) gold) · \(report.answers) answers · \(report.answersNeeded) still needed · "
             + f(report.perHour, "%.0f") + "/h · ETA " + eta + " · refresh " + String(format: "%.0f ms", report.refreshMilliseconds))
        let disputed = report.disagreements.prefix(3).map { "\($0.classes[0])↔\($0.classes[1]) (\($0.pairs))" }.joined(separator: ", ")
        line("most disputed: " + (disputed.isEmpty ? "-" : disputed))
        row += 1
        let list = view.ordered(report.annotators)
        func cells(_ values: [String]) -> String {
            let widths = [13, 8, 6, 6, 6, 18, 15, 12]
            var text = ""
            for (i, v) in values.enumerated() {
                guard i < widths.count else { text += v; continue }
                let w = widths[i], cut = v.count > w - 1 ? String(v.prefix(w - 2)) + "…" : v
                let padding = String(repeating: " ", count: max(0, w - cut.count))
                // Numbers right-aligned, words left.
                text += (1...4).contains(i) ? padding.dropLast() + cut + " " : cut + padding
            }
            return text
        }
        let header = "  " + cells(["annotator", "answers", "/hour", "med s", "×team", "gold (95%)", "agrees (pairs)", "verdict", "evidence"])
        line(header, bold)
        let alertRows = min(view.alerts.count, 4)
        let detailRows = view.detail ? 9 : 0
        let tableRows = max(1, rows - row - 2 - alertRows - detailRows - (alertRows > 0 ? 1 : 0))
        let selected = list.isEmpty ? 0 : min(view.selected, list.count - 1)
        let start = max(0, min(selected - tableRows + 1, list.count - tableRows))
        for (i, s) in list.enumerated().dropFirst(start).prefix(tableRows) {
            let gold = s.goldAccuracy.map { g in String(format: "%.2f [%.2f,%.2f]", g, s.goldInterval?[0] ?? 0, s.goldInterval?[1] ?? 1) } ?? "-"
            let agree = s.agreement.map { String(format: "%.2f (%d)", $0, s.compared) } ?? "-"
            let text = (i == selected ? "> " : "  ") + cells([s.annotator, String(s.answers), f(s.perHour, "%.0f"), f(s.medianSeconds, "%.1f"),
                                                               f(s.speedRatio, "%.2f"), gold, agree, s.verdict, s.evidence.first ?? ""])
            let style = s.verdict == "blocked" || s.verdict == "likely spam" ? "\u{1B}[31m" : s.verdict == "review" ? "\u{1B}[33m" : ""
            line(text, (i == selected ? "\u{1B}[7m" : "") + style)
        }
        if list.isEmpty { line("  no answers yet") }
        if view.detail, selected < list.count {
            let s = list[selected]
            row += 1
            line("\(s.annotator): " + (s.evidence.isEmpty ? "nothing against them" : s.evidence.joined(separator: "; ")), bold)
            let confusions = monitor.confusions(s.annotator, limit: 6).map { "\($0.0)→\($0.1) ×\($0.2)" }.joined(separator: "  ")
            line("reads as (reference→answer): " + (confusions.isEmpty ? "-" : confusions) + (s.goldRate.map { String(format: "   gold rate %.3f", $0) } ?? ""))
            line("recent answers (item: answer [gold]):")
            for r in monitor.recentAnswers(s.annotator).suffix(5).reversed() {
                line("  \(r.item): \(r.answer)" + (r.gold.map { " [gold \($0)\($0 == r.answer ? " ✓" : " ✗")]" } ?? ""))
            }
        }
        if alertRows > 0 {
            row = rows - 1 - alertRows
            line("alerts:", bold)
            for a in view.alerts.suffix(alertRows) { line("  " + a) }
        }
        row = rows
        line(view.message ?? "↑↓ select · Enter details · s sort (\(view.sort.rawValue)) · b block · u unblock / clear review · q quit")
        return out
    }

    /// Runs the full-screen view until q or Ctrl-C.
    package static func run(queue: String, store: any LabelingStore, interval: Double, lead: String) throws {
        let terminal = Terminal()
        guard terminal.isTTY else { throw TerminalError("curate watch needs a terminal (stdin and stdout); --json prints the state once") }
        let spec = try store.queueSpec(queue)
        var monitor = TeamMonitor(queue: queue, overlap: spec.overlap)
        var view = View()
        let color = ProcessInfo.processInfo.environment["NO_COLOR"] == nil
        try terminal.enter()
        defer { terminal.restore() }
        terminal.write("\u{1B}[2J")
        var last = Date.distantPast
        var report: WatchReport?
        let mayVet = store.mayVet()
        while true {
            let now = Date()
            if now.timeIntervalSince(last) >= interval || report == nil {
                last = now
                let started = DispatchTime.now().uptimeNanoseconds
                let seen = monitor.decisions.count
                let policy = try Vetting.policy(of: try store.queueSpec(queue))   // read again: a lead may change it meanwhile
                try Vetting.refresh(&monitor, policy: policy, store: store, mayVet: mayVet, now: now)
                let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6
                let fresh = WatchReport(monitor: monitor, policy: policy, hasPolicy: policy != nil, refreshMilliseconds: elapsed, now: now)
                view.note(fresh, newDecisions: Array(monitor.decisions.dropFirst(seen)), now: now)
                report = fresh
                let (columns, rows) = terminal.size
                terminal.write(frame(fresh, view: view, monitor: monitor, columns: columns, rows: rows, color: color, now: now))
            }
            guard let key = terminal.readKey(timeout: min(0.5, interval)) else {
                if terminal.takeResize(), let report {
                    let (columns, rows) = terminal.size
                    terminal.write("\u{1B}[2J" + frame(report, view: view, monitor: monitor, columns: columns, rows: rows, color: color, now: Date()))
                }
                continue
            }
            guard let shown = report else { continue }
            let list = view.ordered(shown.annotators)
            view.message = nil
            switch key {
            case .interrupt, .endOfInput, .character("q"): return
            case .up, .character("k"): view.selected = max(0, view.selected - 1)
            case .down, .character("j"): view.selected = min(max(0, list.count - 1), view.selected + 1)
            case .enter: view.detail.toggle()
            case .character("s"):
                let all = Sort.allCases
                view.sort = all[(all.firstIndex(of: view.sort)! + 1) % all.count]
            case .character("b"), .character("u"):
                guard view.selected < list.count else { break }
                let who = list[view.selected].annotator
                let blocking = key == .character("b")
                var d = try store.recordDecision(queue, QueueDecision(annotator: who, action: blocking ? .block : .unblock,
                                                                      reason: blocking ? "a lead paused it from curate watch" : "a lead decided from curate watch", by: lead))
                if d == nil && !blocking {
                    d = try store.recordDecision(queue, QueueDecision(annotator: who, action: .clear, reason: "a lead cleared it from curate watch", by: lead))
                }
                view.message = d.map { "\($0.action.rawValue): \(who)" } ?? "\(who): nothing to \(blocking ? "block" : "undo")"
            default: view.message = "unknown key (↑↓ Enter s b u q)"
            }
            last = .distantPast   // redraw now, with the decision read back
        }
    }
}

extension VettingPolicy {
    /// No rules (a fallback that never fires).
    static let empty = VettingPolicy(rules: [], adaptiveGold: nil)
}
