import ArgumentParser
import CurateCore
import CurateLabeling
import CurateStore
import CurateVersioning
import Foundation

extension Curate.Queue {
    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one queue live: progress, pace and ETA, each annotator's answers, speed, gold accuracy and agreement, who holds which item, the flag notes.",
            discussion: "Example:\n  curate queue show round1\n  curate queue show round1 --json")
        @Argument var name: String
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var repository: RepositoryOption

        func run() async throws {
            try await reportingErrors {
                let report = try Queues.report(name, store: try repository.store())
                if json { return try printJSON(report) }
                Console.out("queue \(report.queue) (\(report.state)): task \(report.task), overlap \(report.overlap), gold rate \(report.goldRate), lease \(Int(report.leaseMinutes)) min")
                Console.out("\(report.done) of \(report.items) items done (\(report.gold) gold), \(report.answers) answers, \(report.leased) leased now, \(report.flags.count) flagged")
                if let rate = report.perHour {
                    Console.out(String(format: "pace: %.0f answers/hour over the last hour", rate)
                        + (report.etaMinutes.map { $0 == 0 ? ", nothing left to answer" : ", about " + Self.duration($0 * 60) + " to go" } ?? "")
                        + (report.agreement.map { String(format: "; agreement %.0f%% over %d pairs", $0 * 100, report.comparedPairs) } ?? ""))
                }
                if report.annotators.isEmpty { Console.out("annotators: none yet") } else {
                    // "held" only when someone was blocked: answers kept but not counted.
                    let held = report.annotators.contains { $0.held > 0 }
                    let header: [String] = ["annotator", "answers"] + (held ? ["held"] : []) + ["skips", "flags", "gold", "per hour", "median s", "agrees"]
                    Console.out(Table(header, report.annotators.map { p -> [String] in
                        let gold = p.goldAnswered == 0 ? "-" : "\(p.goldCorrect)/\(p.goldAnswered)"
                        let pace = p.perHour.map { String(format: "%.0f", $0) } ?? "-"
                        let median = p.medianSeconds.map { String(format: "%.1f", $0) } ?? "-"
                        let agrees = p.agreement.map { String(format: "%.0f%% of %d", $0 * 100, p.comparedPairs) } ?? "-"
                        let counts: [String] = [String(p.answers)] + (held ? [String(p.held)] : []) + [String(p.skips), String(p.flags)]
                        return [p.annotator] + counts + [gold, pace, median, agrees]
                    }).text)
                }
                for lease in report.leases {
                    Console.out("leased: \(lease.item) to \(lease.annotator)" + (lease.ageSeconds.map { " for " + Self.duration($0) } ?? "")
                                + ", expires in " + Self.duration(lease.expiresInSeconds))
                }
                for flag in report.flags { Console.out("flag: \(flag.item) (\(flag.annotator)): \(flag.note)") }
                if let experts = report.workedBy { Console.out("worked by: " + experts.joined(separator: ", ") + " only") }
                if !report.blocked.isEmpty { Console.out("blocked (receive nothing; their answers are held): " + report.blocked.joined(separator: ", ")) }
                if report.policy { Console.out("vetting policy: set (curate queue policy \(report.queue) --show)") }
                for d in report.decisions {
                    Console.out("decision: \(d.action.rawValue) \(d.annotator) by \(d.by) at \(ISO8601DateFormatter().string(from: d.created)): \(d.reason)"
                                + (d.evidence.isEmpty ? "" : " [" + d.evidence.joined(separator: "; ") + "]"))
                }
            }
        }

        /// 42s, 3m 05s, 2h 10m.
        static func duration(_ seconds: Double) -> String {
            let s = Int(max(0, seconds).rounded())
            if s < 60 { return "\(s)s" }
            if s < 3600 { return String(format: "%dm %02ds", s / 60, s % 60) }
            return String(format: "%dh %02dm", s / 3600, (s % 3600) / 60)
        }
    }
}
