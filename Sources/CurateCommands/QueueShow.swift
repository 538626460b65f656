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
                    Console.out(Table(["annotator", "answers", "skips", "flags", "gold", "per hour", "median s", "agrees"], report.annotators.map { p in
                        [p.annotator, String(p.answers), String(p.skips), String(p.flags), p.goldAnswered == 0 ? "-" : "\(p.goldCorrect)/\(p.goldAnswered)",
                         p.perHour.map { String(format: "%.0f", $0) } ?? "-", p.medianSeconds.map { String(format: "%.1f", $0) } ?? "-",
                         p.agreement.map { String(format: "%.0f%% of %d", $0 * 100, p.comparedPairs) } ?? "-"]
                    }).text)
                }
                for lease in report.leases {
                    Console.out("leased: \(lease.item) to \(lease.annotator)" + (lease.ageSeconds.map { " for " + Self.duration($0) } ?? "")
                                + ", expires in " + Self.duration(lease.expiresInSeconds))
                }
                for flag in report.flags { Console.out("flag: \(flag.item) (\(flag.annotator)): \(flag.note)") }
                if let experts = report.workedBy { Console.out("worked by: " + experts.joined(separator: ", ") + " only") }
                if !report.blocked.isEmpty { Console.out("receive nothing (likely spam): " + report.blocked.joined(separator: ", ")) }
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
