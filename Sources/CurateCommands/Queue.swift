import ArgumentParser
import CurateCore
import CurateLabeling
import CurateStore
import CurateVersioning
import Foundation

extension Curate {
    struct Queue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Labeling queues: create, list, show, close, export; next/answer for scripts.",
            discussion: """
                A queue holds items in serving order. Each item is leased to one annotator at a time (the lease \
                expires after --lease-minutes, so an item held by someone who walked away returns); with --overlap \
                K each item is answered by K different annotators; gold items (--gold FILE, `path,label`) are \
                mixed in at --gold-rate and not marked as such to the annotator. Every answer is written in its own \
                transaction before the next item is served. Queues live in the repository, outside commits.

                Examples:
                  curate queue create digits-round1 --task classify --from batch.jsonl \\
                      --overlap 2 --gold gold.csv --gold-rate 0.1
                  curate queue list
                  curate queue next digits-round1 --annotator ana
                  curate queue answer digits-round1 --annotator ana --item images/3/0003.png \\
                      --label 3 --seconds 2.5
                  curate queue export digits-round1 --out answers.jsonl
                """,
            subcommands: [Create.self, List.self, Show.self, Close.self, Next.self, Answer.self, Export.self])
    }
}

extension Curate.Queue {
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a queue from a batch, a tag or path patterns.",
            discussion: """
                Examples:
                  curate queue create round1 --from batch.jsonl --overlap 2 --gold gold.csv \\
                      --gold-rate 0.1
                  curate queue create review1 --task review --from batch.jsonl
                  curate queue create boxes1 --task boxes --paths images/street
                """)

        @Argument(help: "The queue's name.")
        var name: String

        @Option(help: "classify, multilabel, boxes or review.")
        var task: String = "classify"

        @Option(help: "A batch from curate select (JSON Lines with \"item\").")
        var from: String?

        @Option(name: .customLong("where"), help: "Items with this item tag, as tag=NAME.")
        var condition: String?

        @Option(parsing: .upToNextOption, help: "Tracked images and text files (.txt, .md, .json, …) matching these globs or folders (at HEAD).")
        var paths: [String] = []

        @Option(help: "Different annotators per item.")
        var overlap: Int = 1

        @Option(help: "Gold items: a CSV `path,label` with known answers.")
        var gold: String?

        @Option(help: "Share of served items that are gold.")
        var goldRate: Double = 0

        @Option(help: "Minutes before an unanswered item returns to the queue.")
        var leaseMinutes: Double = 10

        @Option(help: "A text file shown on demand in the session.")
        var instructions: String?

        @Flag(help: "Create the queue without items (routing fills it).")
        var empty = false

        @Flag(help: "Succeed without changes when the queue already exists (for workflows).")
        var existOk = false

        @Option(help: "Only these annotators (comma-separated) may work the queue: experts, for adjudication.")
        var annotators: String?

        @OptionGroup var repository: RepositoryOption

        func validate() throws {
            guard QueueSpec.Task(rawValue: task) != nil else { throw ValidationError("--task must be classify, multilabel, boxes or review") }
            guard [from != nil, condition != nil, !paths.isEmpty, empty].filter({ $0 }).count == 1 else { throw ValidationError("give one of --from, --where, --paths or --empty") }
            if goldRate > 0 && gold == nil { throw ValidationError("--gold-rate needs --gold FILE") }
        }

        func run() async throws {
            try await reportingErrors {
                let items: QueueCreateRequest.Items
                if let from { items = .batch(from) } else if let condition {
                    guard condition.hasPrefix("tag=") else { throw ValidationError("--where takes tag=NAME") }
                    items = .tag(String(condition.dropFirst(4)))
                } else { items = empty ? .empty : .paths(paths) }
                let experts = annotators.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
                var request = QueueCreateRequest(spec: QueueSpec(name: name, task: QueueSpec.Task(rawValue: task)!, overlap: overlap, goldRate: goldRate,
                                                                 leaseSeconds: leaseMinutes * 60, annotators: experts), items: items)
                (request.gold, request.instructions, request.existOk) = (gold, instructions, existOk)
                let (repo, store) = try repository.openWithStore()
                let created = try Queues.create(request, repository: repo, store: store)
                if let existing = created.existed {
                    return Console.out("queue \(name) exists (\(existing.items) items, task \(existing.spec.task.rawValue))")
                }
                Console.out("queue \(name): \(created.items) items\(created.gold > 0 ? " + \(created.gold) gold" : ""), task \(task), overlap \(overlap)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the queues with their progress.", discussion: "Example:\n  curate queue list")
        @OptionGroup var repository: RepositoryOption

        func run() async throws {
            try await reportingErrors {
                let queues = try repository.store().queueSummaries()
                if queues.isEmpty { Console.out("no queues (curate queue create)"); return }
                Console.out(Table(["queue", "task", "items", "done", "answers", "leased", "annotators", "state"], queues.map { q in
                    [q.spec.name, q.spec.task.rawValue, String(q.items), String(q.done), String(q.answers), String(q.activeLeases), String(q.annotators.count), q.closed ? "closed" : "open"]
                }).text)
            }
        }
    }

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

    struct Close: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Close a queue: no more items are served; answers stay.", discussion: "Example:\n  curate queue close round1")
        @Argument var name: String
        @OptionGroup var repository: RepositoryOption

        func run() async throws {
            try await reportingErrors {
                try repository.store().closeQueue(name)
                Console.out("queue \(name) closed")
            }
        }
    }

    struct Next: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Lease the next item to an annotator; print its path and the lease token (for scripts).",
            discussion: "The answer must present the lease: curate queue answer Q --annotator ID --item PATH --lease TOKEN --label L.\n\nExample:\n  curate queue next round1 --annotator ana --json")
        @Argument var name: String
        @Option var annotator: String
        @OptionGroup var repository: RepositoryOption

        @Flag(help: "Print JSON: {\"item\", \"lease\"}.") var json = false

        func run() async throws {
            try await reportingErrors {
                guard let item = try repository.store().leaseNext(name, annotator: annotator) else {
                    Console.out("nothing left for \(annotator) in \(name)")
                    throw ExitCode(1)
                }
                if json { return try printJSON(["item": item.path, "lease": item.lease ?? ""]) }
                Console.out(item.path)
                Console.out("lease \(item.lease ?? "")")
            }
        }
    }

    struct Answer: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Store an answer (for scripts and oracles), under the lease curate queue next gave.",
            discussion: "Example:\n  curate queue answer round1 --annotator ana --item images/3/0003.png \\\n      --lease TOKEN --label 3 --seconds 2.4")
        @Argument var name: String
        @Option var annotator: String
        @Option var item: String
        @Option(help: "The class (classify), or classes separated by '|' (multilabel).")
        var label: String
        @Option(help: "Seconds spent on the item (finite, ≥ 0).") var seconds: Double = 0
        @Option(help: "The lease token curate queue next printed for this item.") var lease: String
        @OptionGroup var repository: RepositoryOption

        func run() async throws {
            try await reportingErrors {
                let (repo, store) = try repository.openWithStore()
                try Queues.answer(name, item: item, annotator: annotator, classes: label.split(separator: "|").map(String.init), seconds: seconds, lease: lease,
                                  schema: try repo.labels(at: "HEAD").schema, store: store)
                Console.out("stored \(item): \(label)")
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a queue's answers as labels (JSON Lines, source annotator:ID) for add/validate.",
            discussion: """
                Classes, class sets and boxes become labels. In review queues an accepted suggestion becomes the
                suggested class or boxes, by the annotator who accepted it; a rejection is a decision, not a label.
                --decisions FILE writes every answer that is not a label — rejections, skips, flags with their
                notes — as JSON Lines {"item", "annotator", "decision", "note", "created"}.

                Examples:
                  curate queue export round1 --out answers.jsonl
                  curate queue export review1 --out accepted.jsonl --decisions decisions.jsonl
                """)
        @Argument var name: String
        @Option var out: String
        @Option(help: "Also write the decisions that are not labels (rejections, skips, flags with notes) to this JSON Lines file.")
        var decisions: String?
        @OptionGroup var repository: RepositoryOption

        func run() async throws {
            try await reportingErrors {
                let (repo, store) = try repository.openWithStore()
                let export = try Queues.export(name, schema: try repo.labels(at: "HEAD").schema, store: store)
                try LabelFormat.jsonl.write(export.labels, to: out)
                if let decisions {
                    try writeOutput(Data(try export.decisions.map { try $0.compactJSON() + "\n" }.joined().utf8), to: decisions)
                }
                let notes = ["accepted", "rejected", "skipped", "flagged", "unreadable"].compactMap { k in export.counts[k].map { "\($0) \(k)" } }
                let left = export.decisions.count
                Console.out("\(export.labels.annotations.count) answers on \(export.items) items written to \(out)"
                    + (notes.isEmpty ? "" : " (" + notes.joined(separator: ", ") + ")")
                    + (left == 0 ? "" : decisions.map { "; \(left) decisions written to \($0)" } ?? "; \(left) decisions not written (--decisions FILE)"))
            }
        }
    }
}
