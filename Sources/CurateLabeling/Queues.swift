import CurateCore
import CurateStore
import CurateVersioning
import Foundation

/// What `curate queue create` is asked for.
package struct QueueCreateRequest: Sendable {
    /// Where the items come from.
    package enum Items: Sendable {
        /// A batch file from `curate select` (its suggestions kept).
        case batch(String)
        /// The items carrying a repository item tag.
        case tag(String)
        /// Tracked images and text files at HEAD matching globs or folders.
        case paths([String])
        /// None yet: routing fills it.
        case empty
    }

    package var spec: QueueSpec
    package var items: Items
    /// Gold answers: a CSV `path,label` (items not queued otherwise are added).
    package var gold: String?
    /// A text file shown on demand in the session.
    package var instructions: String?
    /// Succeed without changes when the queue exists.
    package var existOk = false

    package init(spec: QueueSpec, items: Items) {
        self.spec = spec
        self.items = items
    }
}

/// What `queue create` did.
package struct QueueCreated: Sendable {
    /// The queue existed already (with `existOk`): nothing changed.
    package var existed: QueueSummary?
    package var items = 0
    package var gold = 0
    /// What was done with the input that the user may not expect (gold rows left out, and why).
    package var notes: [String] = []
}

/// `curate queue show`: a queue's progress and each annotator's work.
package struct QueueReport: Codable, Sendable {
    package struct Annotator: Codable, Sendable {
        package var annotator: String
        package var answers = 0, skips = 0, flags = 0, goldAnswered = 0, goldCorrect = 0
        /// Items per hour over their working span (first answer's start to last answer).
        package var perHour: Double?
        package var medianSeconds: Double?
        /// The share of their answers that match another annotator's on the same item (classify and multi-label),
        /// over `comparedPairs` pairs.
        package var agreement: Double?
        package var comparedPairs = 0
        /// Answers kept but not counted while the annotator is blocked.
        package var held = 0
    }
    package struct FlagNote: Codable, Sendable { package var item: String, annotator: String, note: String }
    package struct Lease: Codable, Sendable {
        package var item: String, annotator: String
        /// Seconds since it was leased (renewals keep it), and until it expires.
        package var ageSeconds: Double?, expiresInSeconds: Double
    }

    package var queue: String, task: String, state: String, overlap: Int, goldRate: Double, leaseMinutes: Double
    package var items: Int, gold: Int, done: Int, answers: Int, leased: Int
    package var workedBy: [String]?, blocked: [String]
    package var annotators: [Annotator]
    package var flags: [FlagNote]
    /// Answers per hour over the last hour (or since the first answer, when that is more recent).
    package var perHour: Double?
    /// Minutes until every item has its answers at that rate.
    package var etaMinutes: Double?
    /// Pairwise agreement between annotators on the same items so far, over `comparedPairs` pairs.
    package var agreement: Double?
    package var comparedPairs = 0
    package var leases: [Lease] = []
    /// Blocks, reviews and their undoing, oldest first.
    package var decisions: [QueueDecision] = []
    /// Whether the queue has a vetting policy.
    package var policy = false
}

/// `curate queue export`: the answers as labels, and the decisions that are not labels.
package struct QueueExport: Sendable {
    package struct Decision: Codable, Sendable {
        package var item: String
        package var annotator: String
        /// reject, skip, flag or unreadable.
        package var decision: String
        package var note: String?
        /// Unix seconds.
        package var created: Double
    }
    package var labels: LabelSet
    /// Items that got a label.
    package var items: Int
    package var decisions: [Decision]
    /// accepted / rejected / skipped / flagged / unreadable → how many.
    package var counts: [String: Int]
    /// Answers read (one per annotator and item, whatever they said: the count `queue show` gives).
    package var answers = 0
}

/// The queue verbs as library calls over a repository (what is tracked, the schema) and its labeling store.
package enum Queues {
    package static func create(_ request: QueueCreateRequest, repository repo: Repository, store: any LabelingStore) throws -> QueueCreated {
        let name = request.spec.name
        if request.existOk, try store.queueNames().contains(name) { return QueueCreated(existed: try store.queueSummary(name)) }
        let files = try repo.files(at: "HEAD")
        let tracked = Set(files.map(\.path))
        var items: [QueueItem] = []
        switch request.items {
        case .batch(let path):
            for (item, object) in try BatchFile.read(path) {
                items.append(QueueItem(path: item, suggestion: try object["suggestion"].map { try Answers.text($0) }))
            }
        case .tag(let tag): items = try repo.items(tagged: tag).map { QueueItem(path: $0) }
        case .paths(let patterns): items = files.filter { ($0.width != nil || Answers.isText($0.path)) && matches($0.path, patterns) }.map { QueueItem(path: $0.path) }
        case .empty: break
        }
        let schema = try repo.labels(at: "HEAD").schema
        if let missing = items.first(where: { !tracked.contains($0.path) }) {
            throw InputError("\(missing.path): not a tracked file at HEAD (commit it first)")
        }
        if request.spec.task == .boxes {
            // A bad suggestion fails here, not mid-session: a known class, finite numbers, inside the image (by at
            // most half a pixel out, as validate's bounds check).
            let sizes = Dictionary(files.compactMap { f in f.width.flatMap { w in f.height.map { (f.path, (w, $0)) } } }, uniquingKeysWith: { a, _ in a })
            for item in items {
                guard let boxes = try Answers.suggestedBoxes(item, schema: schema), let (w, h) = sizes[item.path] else { continue }
                for b in boxes where b.x < -0.5 || b.y < -0.5 || b.x + b.width > Double(w) + 0.5 || b.y + b.height > Double(h) + 0.5 {
                    let box = [b.x, b.y, b.width, b.height].map { $0 == $0.rounded() ? String(Int($0)) : String($0) }.joined(separator: ", ")
                    throw InputError("\(item.path): suggested box \(schema.name(of: b.classID)) [\(box)] (x, y, w, h) leaves the \(w)×\(h) image; nothing was queued")
                }
            }
        }
        var notes: [String] = []
        if let gold = request.gold {
            let queued = Set(items.map(\.path))
            var rows: [QueueItem] = [], folded: [String: String] = [:]
            for (n, line) in try InputFile.text(gold).split(separator: "\n").enumerated() where n > 0 && !line.isEmpty {
                let parts = line.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count >= 2, schema.id(named: parts[1]) != nil else { throw InputError("\(gold):\(n + 1): expected path,label with a class of the schema") }
                guard tracked.contains(parts[0]) else { throw InputError("\(gold):\(n + 1): \(parts[0]) is not a tracked file") }
                let answer = try Answers.text(["class": parts[1]])
                if queued.contains(parts[0]) { folded[parts[0]] = answer; continue }
                if rows.contains(where: { $0.path == parts[0] }) { continue }
                rows.append(QueueItem(path: parts[0], gold: answer))
            }
            if !folded.isEmpty {
                // Queued items with a known answer become gold (served as tests, not counted as items to label).
                items = items.map { item in folded[item.path].map { QueueItem(path: item.path, gold: $0, suggestion: item.suggestion) } ?? item }
                let example = items.first { folded[$0.path] != nil }!.path
                notes.append("\(Plural.count(folded.count, "queued item")) (e.g. \(example)) \(folded.count == 1 ? "is" : "are") in \(gold): served as gold, not as \(folded.count == 1 ? "an item" : "items") to label")
            }
            // Enough gold for one annotator who answers every item at the rate: g / (n + g) = rate.
            let rate = request.spec.goldRate
            guard rate > 0 else { throw InputError("\(gold): gold is served at --gold-rate, which is 0; give a rate (e.g. --gold-rate 0.1) or leave out --gold") }
            let toLabel = items.count - folded.count
            let needed = rate >= 1 ? folded.count + rows.count : Int((Double(toLabel) * rate / (1 - rate)).rounded(.up))
            let room = max(0, needed - folded.count)
            if rows.count > room {
                // A spread over the file (every k-th row), not its head: classes listed in blocks stay represented.
                let step = Double(rows.count) / Double(max(1, room))
                let kept = (0..<room).map { rows[Int(Double($0) * step)] }
                notes.append("\(room) of the \(Plural.count(rows.count, "other gold row")) added: a gold rate of \(rate) over \(Plural.count(toLabel, "item")) needs \(needed) gold per annotator")
                rows = kept
            }
            items += rows
        }
        var spec = request.spec
        if let path = request.instructions { spec.instructions = try InputFile.text(path) }
        if case .empty = request.items {} else if items.isEmpty { throw StoreError(.usage, "\(name): no items to queue") }
        try store.createQueue(spec, items: items, allowEmpty: true)
        let gold = items.filter { $0.gold != nil }.count
        return QueueCreated(existed: nil, items: items.count - gold, gold: gold, notes: notes)
    }

    package static func report(_ name: String, store: any LabelingStore, now: Date = Date()) throws -> QueueReport {
        let q = try store.queueSummary(name, now: now)
        let gold = Dictionary(try store.queueItems(name).compactMap { item in item.gold.map { (item.path, Answers.object($0)["class"] as? String) } },
                              uniquingKeysWith: { a, _ in a })
        var people: [String: QueueReport.Annotator] = [:]
        var flags: [QueueReport.FlagNote] = []
        let all = try store.queueAnswers(name, includeHeld: true)
        for a in all where a.held { people[a.annotator, default: QueueReport.Annotator(annotator: a.annotator)].held += 1 }
        let answers = all.filter { !$0.held }
        for a in answers {
            var p = people[a.annotator] ?? QueueReport.Annotator(annotator: a.annotator)
            let object = Answers.object(a.answer)
            if object["skip"] != nil { p.skips += 1 } else if let note = object["flag"] {
                p.flags += 1
                flags.append(.init(item: a.path, annotator: a.annotator, note: note as? String ?? ""))
            } else {
                p.answers += 1
                if let truth = gold[a.path] {
                    p.goldAnswered += 1
                    if truth != nil && (object["class"] as? String) == truth { p.goldCorrect += 1 }
                }
            }
            people[a.annotator] = p
        }
        // Speed and agreement so far.
        var byAnnotator: [String: [QueueAnswer]] = [:], byItem: [String: [(annotator: String, key: String)]] = [:]
        for a in answers {
            byAnnotator[a.annotator, default: []].append(a)
            if !a.isGold, let key = agreementKey(a.answer) { byItem[a.path, default: []].append((a.annotator, key)) }
        }
        var agreeing: [String: (same: Int, pairs: Int)] = [:]
        for (_, given) in byItem where given.count > 1 {
            for (i, x) in given.enumerated() {
                for y in given[(i + 1)...] {
                    let same = x.key == y.key ? 1 : 0
                    for who in [x.annotator, y.annotator] { agreeing[who, default: (0, 0)].same += same; agreeing[who, default: (0, 0)].pairs += 1 }
                }
            }
        }
        for (who, theirs) in byAnnotator {
            guard var p = people[who], let first = theirs.first, let last = theirs.last else { continue }
            let span = max(60, last.created.timeIntervalSince(first.created) + first.seconds)
            p.perHour = Double(theirs.count) / span * 3600
            let seconds = theirs.map(\.seconds).sorted()
            p.medianSeconds = seconds.count % 2 == 1 ? seconds[seconds.count / 2] : (seconds[seconds.count / 2 - 1] + seconds[seconds.count / 2]) / 2
            if let a = agreeing[who], a.pairs > 0 { p.agreement = Double(a.same) / Double(a.pairs); p.comparedPairs = a.pairs }
            people[who] = p
        }
        var report = QueueReport(queue: q.spec.name, task: q.spec.task.rawValue, state: q.closed ? "closed" : "open", overlap: q.spec.overlap,
                                 goldRate: q.spec.goldRate, leaseMinutes: q.spec.leaseSeconds / 60, items: q.items, gold: q.gold, done: q.done,
                                 answers: q.answers, leased: q.activeLeases, workedBy: q.spec.annotators, blocked: q.spec.blocked,
                                 annotators: people.values.sorted { $0.annotator < $1.annotator }, flags: flags)
        if let first = answers.first {
            let start = max(now.addingTimeInterval(-3600), first.created.addingTimeInterval(-first.seconds))
            let window = max(60, now.timeIntervalSince(start))
            let recent = answers.filter { $0.created >= start }.count
            report.perHour = Double(recent) / window * 3600
            let needed = max(0, (q.items - q.gold) * q.spec.overlap + q.gold - q.answers)
            if recent > 0 { report.etaMinutes = Double(needed) / report.perHour! * 60 }
        }
        let pairs = agreeing.values.reduce((0, 0)) { ($0.0 + $1.same, $0.1 + $1.pairs) }
        if pairs.1 > 0 { report.agreement = Double(pairs.0) / Double(pairs.1); report.comparedPairs = pairs.1 / 2 }
        report.decisions = try store.decisions(name, after: 0)
        report.policy = q.spec.policy != nil
        report.leases = try store.activeLeases(name, now: now).map {
            QueueReport.Lease(item: $0.path, annotator: $0.annotator, ageSeconds: $0.leased.map { now.timeIntervalSince($0) },
                              expiresInSeconds: $0.expires.timeIntervalSince(now))
        }
        return report
    }

    /// What two answers must share to agree: the class, or the set of classes; nil for boxes, skips and flags.
    static func agreementKey(_ answer: String) -> String? {
        // The common case, `{"class":"NAME"}` as stored, without a JSON parse (a lead's view reads every answer).
        let prefix = #"{"class":""#, suffix = #""}"#
        if answer.hasPrefix(prefix), answer.hasSuffix(suffix), answer.utf8.count >= prefix.utf8.count + suffix.utf8.count {
            let inner = answer.dropFirst(prefix.count).dropLast(suffix.count)
            if !inner.contains("\""), !inner.contains("\\") { return String(inner) }
        }
        let object = Answers.object(answer)
        if let c = object["class"] as? String { return c }
        if let classes = object["classes"] as? [String] { return classes.sorted().joined(separator: "|") }
        return nil
    }

    /// Classes, class sets and boxes become labels with source `annotator:ID`; an accepted suggestion becomes the
    /// suggested labels, by the annotator who accepted it; rejections, skips and flags are decisions.
    package static func export(_ name: String, schema: LabelSchema, store: any LabelingStore) throws -> QueueExport {
        let suggestions = Dictionary(try store.queueItems(name).map { ($0.path, $0.suggestion) }, uniquingKeysWith: { a, _ in a })
        var result = QueueExport(labels: LabelSet(schema: schema), items: 0, decisions: [], counts: [:])
        var items = Set<String>()
        let answers = try store.queueAnswers(name)
        for a in answers {
            let object = Answers.object(a.answer)
            var labels: [Label]?
            var decision: String?
            if let review = object["review"] as? String {
                decision = review == "accept" ? "accepted" : "rejected"
                if review == "accept" {
                    guard let suggestion = suggestions[a.path] ?? nil, let suggested = try Answers.labels(suggestion, schema: schema) else {
                        throw InputError("\(a.path): accepted in queue \(name), but its suggestion has no class or boxes to export")
                    }
                    labels = suggested
                }
            } else if object["skip"] != nil {
                decision = "skipped"
            } else if object["flag"] != nil {
                decision = "flagged"
            } else {
                labels = try Answers.labels(a.answer, schema: schema)
                if labels == nil { decision = "unreadable" }
            }
            if let decision {
                result.counts[decision, default: 0] += 1
                if decision != "accepted" {
                    result.decisions.append(.init(item: a.path, annotator: a.annotator, decision: ["rejected": "reject", "skipped": "skip", "flagged": "flag"][decision] ?? decision,
                                                  note: object["flag"] as? String, created: a.created.timeIntervalSince1970))
                }
            }
            guard let labels else { continue }
            if items.insert(a.path).inserted { result.labels.items.append(Item(path: a.path)) }
            for label in labels {
                result.labels.annotations.append(Annotation(item: a.path, label: label, source: .annotator(a.annotator), createdAt: a.created, secondsSpent: a.seconds))
            }
        }
        result.items = items.count
        result.answers = answers.count
        return result
    }

    /// Stores a script's answer (`classes`: one for classify, any for multilabel) under its lease, then applies the
    /// queue's vetting policy to its annotator; returns the decision it made, if any.
    @discardableResult
    package static func answer(_ name: String, item: String, annotator: String, classes: [String], seconds: Double, lease: String,
                              schema: LabelSchema, store: any LabelingStore) throws -> QueueDecision? {
        let spec = try store.queueSummary(name).spec
        for c in classes where schema.id(named: c) == nil { throw InputError("\(c): not a class of the schema") }
        let object: [String: Any] = spec.task == .multilabel ? ["classes": classes] : ["class": classes.first ?? ""]
        try store.storeAnswer(name, path: item, annotator: annotator, answer: try Answers.text(object), seconds: seconds, lease: lease)
        return try Vetting.afterAnswer(queue: name, annotator: annotator, store: store)
    }
}
