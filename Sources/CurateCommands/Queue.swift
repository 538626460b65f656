import ArgumentParser
import CurateCore
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
                let (repo, store) = try repository.openWithStore()
                if existOk, let existing = try? store.queueSummary(name) {
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
                    throw CommandFailure(message: "\(missing.path): not a tracked file at HEAD (commit it first)", kind: .invalidData)
                }
                if let gold {
                    guard let text = try? String(contentsOfFile: gold, encoding: .utf8) else { throw CommandFailure(message: "\(gold): cannot read", kind: .notFound) }
                    let schema = try repo.labels(at: "HEAD").schema
                    var queued = Set(items.map(\.path))
                    for (n, line) in text.split(separator: "\n").enumerated() where n > 0 && !line.isEmpty {
                        let parts = line.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                        guard parts.count >= 2, schema.id(named: parts[1]) != nil else {
                            throw CommandFailure(message: "\(gold):\(n + 1): expected path,label with a class of the schema", kind: .invalidData)
                        }
                        guard tracked.contains(parts[0]) else { throw CommandFailure(message: "\(gold):\(n + 1): \(parts[0]) is not a tracked file", kind: .invalidData) }
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
                    guard let t = try? String(contentsOfFile: path, encoding: .utf8) else { throw CommandFailure(message: "\(path): cannot read", kind: .notFound) }
                    return t
                } ?? ""
                let experts = annotators.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
                let spec = QueueSpec(name: name, task: QueueSpec.Task(rawValue: task)!, overlap: overlap, goldRate: goldRate, leaseSeconds: leaseMinutes * 60,
                                     instructions: text, annotators: experts)
                try store.createQueue(spec, items: items, allowEmpty: empty)
                let goldCount = items.filter { $0.gold != nil }.count
                Console.out("queue \(name): \(items.count - goldCount) items\(goldCount > 0 ? " + \(goldCount) gold" : ""), task \(task), overlap \(overlap)")
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

        struct Annotator: Encodable {
            var annotator: String
            var answers = 0, skips = 0, flags = 0, goldAnswered = 0, goldCorrect = 0
        }

        struct FlagNote: Encodable { var item: String, annotator: String, note: String }

        struct Report: Encodable {
            var queue: String, task: String, state: String, overlap: Int, goldRate: Double, leaseMinutes: Double
            var items: Int, gold: Int, done: Int, answers: Int, leased: Int
            var workedBy: [String]?, blocked: [String]
            var annotators: [Annotator]
            var flags: [FlagNote]
        }

        func run() async throws {
            try await reportingErrors {
                let store = try repository.store()
                let q = try store.queueSummary(name)
                let gold = Dictionary(try store.queueItems(name).compactMap { item in item.gold.map { (item.path, answerObject($0)["class"] as? String) } }, uniquingKeysWith: { a, _ in a })
                var people: [String: Annotator] = [:]
                var flags: [FlagNote] = []
                for a in try store.queueAnswers(name) {
                    var p = people[a.annotator] ?? Annotator(annotator: a.annotator)
                    let object = answerObject(a.answer)
                    if object["skip"] != nil { p.skips += 1 } else if let note = object["flag"] {
                        p.flags += 1
                        flags.append(FlagNote(item: a.path, annotator: a.annotator, note: note as? String ?? ""))
                    } else {
                        p.answers += 1
                        if let truth = gold[a.path] {
                            p.goldAnswered += 1
                            if truth != nil && (object["class"] as? String) == truth { p.goldCorrect += 1 }
                        }
                    }
                    people[a.annotator] = p
                }
                let report = Report(queue: q.spec.name, task: q.spec.task.rawValue, state: q.closed ? "closed" : "open", overlap: q.spec.overlap,
                                    goldRate: q.spec.goldRate, leaseMinutes: q.spec.leaseSeconds / 60, items: q.items, gold: q.gold, done: q.done,
                                    answers: q.answers, leased: q.activeLeases, workedBy: q.spec.annotators, blocked: q.spec.blocked,
                                    annotators: people.values.sorted { $0.annotator < $1.annotator }, flags: flags)
                if json { return try printJSON(report) }
                Console.out("queue \(q.spec.name) (\(report.state)): task \(q.spec.task.rawValue), overlap \(q.spec.overlap), gold rate \(q.spec.goldRate), lease \(Int(q.spec.leaseSeconds / 60)) min")
                Console.out("\(q.done) of \(q.items) items done (\(q.gold) gold), \(q.answers) answers, \(q.activeLeases) leased now, \(flags.count) flagged")
                if report.annotators.isEmpty { Console.out("annotators: none yet") } else {
                    Console.out(Table(["annotator", "answers", "skips", "flags", "gold"], report.annotators.map { p in
                        [p.annotator, String(p.answers), String(p.skips), String(p.flags), p.goldAnswered == 0 ? "-" : "\(p.goldCorrect)/\(p.goldAnswered)"]
                    }).text)
                }
                for flag in flags { Console.out("flag: \(flag.item) (\(flag.annotator)): \(flag.note)") }
                if let experts = q.spec.annotators { Console.out("worked by: " + experts.joined(separator: ", ") + " only") }
                if !q.spec.blocked.isEmpty { Console.out("receive nothing (likely spam): " + q.spec.blocked.joined(separator: ", ")) }
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
                let spec = try store.queueSummary(name).spec
                let schema = try repo.labels(at: "HEAD").schema
                let classes = label.split(separator: "|").map(String.init)
                for c in classes where schema.id(named: c) == nil { throw CommandFailure(message: "\(c): not a class of the schema", kind: .invalidData) }
                let object: [String: Any] = spec.task == .multilabel ? ["classes": classes] : ["class": classes.first ?? ""]
                try store.storeAnswer(name, path: item, annotator: annotator, answer: String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self), seconds: seconds, lease: lease)
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
                let schema = try repo.labels(at: "HEAD").schema
                let suggestions = Dictionary(try store.queueItems(name).map { ($0.path, $0.suggestion) }, uniquingKeysWith: { a, _ in a })
                var set = LabelSet(schema: schema)
                var items = Set<String>()
                var counts: [String: Int] = [:]
                var listed: [[String: Any]] = []
                for a in try store.queueAnswers(name) {
                    let object = answerObject(a.answer)
                    var labels: [Label]?
                    var decision: String?
                    if let review = object["review"] as? String {
                        decision = review == "accept" ? "accepted" : "rejected"
                        if review == "accept" {
                            guard let suggestion = suggestions[a.path] ?? nil, let suggested = try labelsOf(suggestion, schema: schema) else {
                                throw CommandFailure(message: "\(a.path): accepted in queue \(name), but its suggestion has no class or boxes to export", kind: .invalidData)
                            }
                            labels = suggested
                        }
                    } else if object["skip"] != nil {
                        decision = "skipped"
                    } else if object["flag"] != nil {
                        decision = "flagged"
                    } else {
                        labels = try labelsOf(a.answer, schema: schema)
                        if labels == nil { decision = "unreadable" }
                    }
                    if let decision {
                        counts[decision, default: 0] += 1
                        if decision != "accepted" {
                            let verb = ["rejected": "reject", "skipped": "skip", "flagged": "flag"][decision] ?? decision
                            var line: [String: Any] = ["item": a.path, "annotator": a.annotator, "decision": verb, "created": a.created.timeIntervalSince1970]
                            if let note = object["flag"] as? String { line["note"] = note }
                            listed.append(line)
                        }
                    }
                    guard let labels else { continue }
                    if items.insert(a.path).inserted { set.items.append(Item(path: a.path)) }
                    for label in labels {
                        set.annotations.append(Annotation(item: a.path, label: label, source: .annotator(a.annotator), createdAt: a.created, secondsSpent: a.seconds))
                    }
                }
                try LabelFormat.jsonl.write(set, to: out)
                if let decisions {
                    var text = ""
                    for line in listed { text += String(decoding: try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self) + "\n" }
                    try writeOutput(Data(text.utf8), to: decisions)
                }
                let notes = ["accepted", "rejected", "skipped", "flagged", "unreadable"].compactMap { k in counts[k].map { "\($0) \(k)" } }
                let left = listed.count
                Console.out("\(set.annotations.count) answers on \(items.count) items written to \(out)"
                    + (notes.isEmpty ? "" : " (" + notes.joined(separator: ", ") + ")")
                    + (left == 0 ? "" : decisions.map { "; \(left) decisions written to \($0)" } ?? "; \(left) decisions not written (--decisions FILE)"))
            }
        }
    }
}

/// An answer's JSON object (empty when it is not one).
func answerObject(_ json: String) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]) ?? [:]
}

/// The labels an answer or a suggestion holds: a class, a set of classes, or boxes; nil when none.
func labelsOf(_ json: String, schema: LabelSchema) throws -> [Label]? {
    let object = answerObject(json)
    if let c = object["class"] as? String, let id = schema.id(named: c) { return [.classification(id)] }
    if let cs = object["classes"] as? [String] { return [.multilabel(cs.compactMap { schema.id(named: $0) })] }
    if let boxes = try suggestedBoxes(QueueItem(path: "", suggestion: json), schema: schema) {
        // A reviewed item with no boxes stays listed: "nothing to box here" is an answer.
        return boxes.map { .object(ObjectLabel(classID: $0.classID, box: BoundingBox(x: $0.x, y: $0.y, width: $0.width, height: $0.height))) }
    }
    return nil
}


/// A batch file (JSON Lines, `{"item": PATH, …}` per line, as `curate select --out` writes): each item with its object.
func readBatch(_ path: String) throws -> [(item: String, object: [String: Any])] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw CommandFailure(message: "\(path): cannot read", kind: .notFound) }
    var result: [(item: String, object: [String: Any])] = []
    for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let item = object["item"] as? String else {
            throw CommandFailure(message: "\(path):\(n + 1): expected {\"item\": PATH, …}", kind: .invalidData)
        }
        result.append((item, object))
    }
    return result
}
