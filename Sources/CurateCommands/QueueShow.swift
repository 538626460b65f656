import ArgumentParser
import CurateCore
import CurateLabeling
import CurateStore
import CurateVersioning
import Foundation

extension Curate.Queue {
    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one queue: progress, each annotator's answers, skips, flags and gold accuracy, the flag notes.",
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
                if report.annotators.isEmpty { Console.out("annotators: none yet") } else {
                    Console.out(Table(["annotator", "answers", "skips", "flags", "gold"], report.annotators.map { p in
                        [p.annotator, String(p.answers), String(p.skips), String(p.flags), p.goldAnswered == 0 ? "-" : "\(p.goldCorrect)/\(p.goldAnswered)"]
                    }).text)
                }
                for flag in report.flags { Console.out("flag: \(flag.item) (\(flag.annotator)): \(flag.note)") }
                if let experts = report.workedBy { Console.out("worked by: " + experts.joined(separator: ", ") + " only") }
                if !report.blocked.isEmpty { Console.out("receive nothing (likely spam): " + report.blocked.joined(separator: ", ")) }
            }
        }
    }
}
