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
                mixed in at --gold-rate and not marked as such to the annotator; only the gold the rate needs is \
                queued (⌈items × rate / (1 − rate)⌉, spread over the file), and gold rows that are items of the \
                batch stay items to label (both are said). Suggested boxes must lie inside their image. Every answer is written in its own \
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
            subcommands: [Create.self, List.self, Show.self, Close.self, Next.self, Answer.self, Export.self, Policy.self, Block.self, Unblock.self, Vet.self])
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

        @Option(help: "A vetting policy (YAML), or 'standard' for Curate's: applied while people work (see curate queue policy).")
        var policy: String?

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
                if let policy { request.spec.policy = try Curate.Queue.Policy.read(policy) }
                let (repo, store) = try repository.openWithStore()
                let created = try Queues.create(request, repository: repo, store: store)
                if let existing = created.existed {
                    return Console.out("queue \(name) exists (\(existing.items) items, task \(existing.spec.task.rawValue))")
                }
                Console.out("queue \(name): \(Plural.count(created.items, "item"))\(created.gold > 0 ? " + \(created.gold) gold" : ""), task \(task), overlap \(overlap)")
                for note in created.notes { Console.out("  " + note) }
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
}
