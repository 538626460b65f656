import ArgumentParser
import CurateCore
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
                  curate queue create digits-round1 --task classify --from batch.jsonl --overlap 2 --gold gold.csv --gold-rate 0.1
                  curate queue list
                  curate queue next digits-round1 --annotator ana
                  curate queue answer digits-round1 --annotator ana --item images/3/0003.png --label 3 --seconds 2.5
                  curate queue export digits-round1 --out answers.jsonl
                """,
            subcommands: [Create.self, List.self, Show.self, Close.self, Next.self, Answer.self, Export.self])
    }
}

extension Curate.Queue {
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a queue from a batch, a tag or path patterns.")

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
                let repo = try repository.open()
                if existOk, let existing = try? repo.queueSummary(name) {
                    return Console.out("queue \(name) exists (\(existing.items) items, task \(existing.spec.task.rawValue))")
                }
                var items: [QueueItem] = []
                if let from {
                    for (item, object) in try readBatch(from) {
                        var suggestion: String?
                        if let s = object["suggestion"] { suggestion = (try? JSONSerialization.data(withJSONObject: s)).map { String(decoding: $0, as: UTF8.self) } }
                        items.append(QueueItem(path: item, suggestion: suggestion))
                    }
                } else if let condition {
                    guard condition.hasPrefix("tag=") else { throw ValidationError("--where takes tag=NAME") }
                    items = try repo.items(tagged: String(condition.dropFirst(4))).map { QueueItem(path: $0) }
                } else if !paths.isEmpty {
                    items = try repo.files(at: "HEAD").filter { ($0.width != nil || textExtensions.contains(($0.path as NSString).pathExtension.lowercased())) && matches($0.path, paths) }.map { QueueItem(path: $0.path) }
                }
                let tracked = Set(try repo.files(at: "HEAD").map(\.path))
                if task == "boxes" {
                    let schema = try repo.labels(at: "HEAD").schema
                    for item in items { _ = try suggestedBoxes(item, schema: schema) }   // a bad suggestion fails here, not mid-session
                }
                if let missing = items.first(where: { !tracked.contains($0.path) }) {
                    throw CommandFailure(message: "\(missing.path): not a tracked file at HEAD (commit it first)", exitCode: ExitCodes.dataError)
                }
                if let gold {
                    guard let text = try? String(contentsOfFile: gold, encoding: .utf8) else { throw CommandFailure(message: "\(gold): cannot read", exitCode: ExitCodes.notFound) }
                    let schema = try repo.labels(at: "HEAD").schema
                    var queued = Set(items.map(\.path))
                    for (n, line) in text.split(separator: "\n").enumerated() where n > 0 && !line.isEmpty {
                        let parts = line.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                        guard parts.count >= 2, schema.id(named: parts[1]) != nil else {
                            throw CommandFailure(message: "\(gold):\(n + 1): expected path,label with a class of the schema", exitCode: ExitCodes.dataError)
                        }
                        guard tracked.contains(parts[0]) else { throw CommandFailure(message: "\(gold):\(n + 1): \(parts[0]) is not a tracked file", exitCode: ExitCodes.dataError) }
                        let answer = String(decoding: try JSONSerialization.data(withJSONObject: ["class": parts[1]]), as: UTF8.self)
                        if queued.contains(parts[0]) {
                            items = items.map { $0.path == parts[0] ? QueueItem(path: $0.path, gold: answer, suggestion: $0.suggestion) : $0 }
                        } else {
                            items.append(QueueItem(path: parts[0], gold: answer))
                            queued.insert(parts[0])
                        }
                    }
                }
                let text = try instructions.map { path -> String in
                    guard let t = try? String(contentsOfFile: path, encoding: .utf8) else { throw CommandFailure(message: "\(path): cannot read", exitCode: ExitCodes.notFound) }
                    return t
                } ?? ""
                let experts = annotators.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
                let spec = QueueSpec(name: name, task: QueueSpec.Task(rawValue: task)!, overlap: overlap, goldRate: goldRate, leaseSeconds: leaseMinutes * 60,
                                     instructions: text, annotators: experts)
                try repo.createQueue(spec, items: items, allowEmpty: empty)
                let goldCount = items.filter { $0.gold != nil }.count
                Console.out("queue \(name): \(items.count - goldCount) items\(goldCount > 0 ? " + \(goldCount) gold" : ""), task \(task), overlap \(overlap)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the queues with their progress.")
        @OptionGroup var repository: RepositoryOption

        func run() async throws {
            try await reportingErrors {
                let queues = try repository.open().queueSummaries()
                if queues.isEmpty { Console.out("no queues (curate queue create)"); return }
                Console.out(Table(["queue", "task", "items", "done", "answers", "leased", "annotators", "state"], queues.map { q in
                    [q.spec.name, q.spec.task.rawValue, String(q.items), String(q.done), String(q.answers), String(q.activeLeases), String(q.annotators.count), q.closed ? "closed" : "open"]
                }).text)
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one queue: progress, annotators, settings.")
        @Argument var name: String
        @OptionGroup var repository: RepositoryOption

        func run() async throws {
            try await reportingErrors {
                let q = try repository.open().queueSummary(name)
                Console.out("queue \(q.spec.name) (\(q.closed ? "closed" : "open")): task \(q.spec.task.rawValue), overlap \(q.spec.overlap), gold rate \(q.spec.goldRate), lease \(Int(q.spec.leaseSeconds / 60)) min")
                Console.out("\(q.done) of \(q.items) items done (\(q.gold) gold), \(q.answers) answers, \(q.activeLeases) leased now")
                Console.out("annotators: " + (q.annotators.isEmpty ? "none yet" : q.annotators.joined(separator: ", ")))
                if let experts = q.spec.annotators { Console.out("worked by: " + experts.joined(separator: ", ") + " only") }
                if !q.spec.blocked.isEmpty { Console.out("receive nothing (likely spam): " + q.spec.blocked.joined(separator: ", ")) }
            }
        }
    }

    struct Close: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Close a queue: no more items are served; answers stay.")
        @Argument var name: String
        @OptionGroup var repository: RepositoryOption

        func run() async throws {
            try await reportingErrors {
                try repository.open().closeQueue(name)
                Console.out("queue \(name) closed")
            }
        }
    }

    struct Next: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lease the next item to an annotator and print its path (for scripts).")
        @Argument var name: String
        @Option var annotator: String
        @OptionGroup var repository: RepositoryOption

        func run() async throws {
            try await reportingErrors {
                guard let item = try repository.open().leaseNext(name, annotator: annotator) else {
                    Console.out("nothing left for \(annotator) in \(name)")
                    throw ExitCode(1)
                }
                Console.out(item.path)
            }
        }
    }

    struct Answer: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Store an answer (for scripts and oracles).")
        @Argument var name: String
        @Option var annotator: String
        @Option var item: String
        @Option(help: "The class (classify), or classes separated by '|' (multilabel).")
        var label: String
        @Option var seconds: Double = 0
        @OptionGroup var repository: RepositoryOption

        func run() async throws {
            try await reportingErrors {
                let repo = try repository.open()
                let spec = try repo.queueSummary(name).spec
                let schema = try repo.labels(at: "HEAD").schema
                let classes = label.split(separator: "|").map(String.init)
                for c in classes where schema.id(named: c) == nil { throw CommandFailure(message: "\(c): not a class of the schema", exitCode: ExitCodes.dataError) }
                let object: [String: Any] = spec.task == .multilabel ? ["classes": classes] : ["class": classes.first ?? ""]
                try repo.storeAnswer(name, path: item, annotator: annotator, answer: String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self), seconds: seconds)
                Console.out("stored \(item): \(label)")
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a queue's answers as labels (JSON Lines, source annotator:ID) for add/validate.")
        @Argument var name: String
        @Option var out: String
        @OptionGroup var repository: RepositoryOption

        func run() async throws {
            try await reportingErrors {
                let repo = try repository.open()
                let schema = try repo.labels(at: "HEAD").schema
                var set = LabelSet(schema: schema)
                var items = Set<String>()
                var skipped = 0
                for a in try repo.queueAnswers(name) {
                    guard let object = try? JSONSerialization.jsonObject(with: Data(a.answer.utf8)) as? [String: Any] else { skipped += 1; continue }
                    var labels: [Label]
                    if let c = object["class"] as? String, let id = schema.id(named: c) {
                        labels = [.classification(id)]
                    } else if let cs = object["classes"] as? [String] {
                        labels = [.multilabel(cs.compactMap { schema.id(named: $0) })]
                    } else if let boxes = try suggestedBoxes(QueueItem(path: a.path, suggestion: a.answer), schema: schema) {
                        // A reviewed item with no boxes stays listed: "nothing to box here" is an answer.
                        labels = boxes.map { .object(ObjectLabel(classID: $0.classID, box: BoundingBox(x: $0.x, y: $0.y, width: $0.width, height: $0.height))) }
                    } else { skipped += 1; continue }   // skips and flags are not labels
                    if items.insert(a.path).inserted { set.items.append(Item(path: a.path)) }
                    for label in labels {
                        set.annotations.append(Annotation(item: a.path, label: label, source: .annotator(a.annotator), createdAt: a.created, secondsSpent: a.seconds))
                    }
                }
                try LabelFormat.jsonl.write(set, to: out)
                Console.out("\(set.annotations.count) answers on \(items.count) items written to \(out)\(skipped > 0 ? " (\(skipped) skips or flags left out)" : "")")
            }
        }
    }
}

/// A batch file (JSON Lines, `{"item": PATH, …}` per line, as `curate select --out` writes): each item with its object.
func readBatch(_ path: String) throws -> [(item: String, object: [String: Any])] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw CommandFailure(message: "\(path): cannot read", exitCode: ExitCodes.notFound) }
    var result: [(item: String, object: [String: Any])] = []
    for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let item = object["item"] as? String else {
            throw CommandFailure(message: "\(path):\(n + 1): expected {\"item\": PATH, …}", exitCode: ExitCodes.dataError)
        }
        result.append((item, object))
    }
    return result
}
