import Foundation
import GRDB

/// A labeling queue: items leased to annotators one at a time, each answered by `overlap` different annotators.
public struct QueueSpec: Sendable, Equatable {
    public enum Task: String, Sendable, CaseIterable { case classify, multilabel, boxes, review }

    public var name: String
    public var task: Task
    /// How many different annotators answer each item.
    public var overlap: Int = 1
    /// The share of served items that are gold (known answer, not marked as such on screen).
    public var goldRate: Double = 0
    /// Seconds an unanswered lease holds an item before it returns to the queue.
    public var leaseSeconds: Double = 600
    public var instructions: String = ""
    /// Who may work this queue (its experts, for adjudication); nil: anyone.
    public var annotators: [String]?
    /// Who receives nothing from it (annotators measured as likely spam).
    public var blocked: [String] = []

    public init(name: String, task: Task, overlap: Int = 1, goldRate: Double = 0, leaseSeconds: Double = 600, instructions: String = "",
                annotators: [String]? = nil, blocked: [String] = []) {
        self.name = name
        self.task = task
        self.overlap = overlap
        self.goldRate = goldRate
        self.leaseSeconds = leaseSeconds
        self.instructions = instructions
        self.annotators = annotators
        self.blocked = blocked
    }
}

/// One item of a queue: its path, its gold answer (hidden from annotators) and the model's suggestion, if any.
public struct QueueItem: Sendable, Equatable {
    public var path: String
    /// The known answer of a gold item (JSON, as answers are stored).
    public var gold: String?
    /// A suggestion to accept or change (JSON), e.g. a model's class and confidence.
    public var suggestion: String?
    /// This item's overlap when it differs from the queue's (uncertain items get more annotators).
    public var overlap: Int?
    /// The model's class for the item: annotators more accurate on it are served it first.
    public var predictedClass: String?
    /// An annotator who must not answer it (the one whose label is being questioned).
    public var excluded: String?
    /// The lease token, when the item was leased (`leaseNext`, `undoLastAnswer`): an answer must present it.
    public var lease: String?

    public init(path: String, gold: String? = nil, suggestion: String? = nil, overlap: Int? = nil, predictedClass: String? = nil, excluded: String? = nil) {
        self.path = path
        self.gold = gold
        self.suggestion = suggestion
        self.overlap = overlap
        self.predictedClass = predictedClass
        self.excluded = excluded
    }
}

/// A stored answer.
public struct QueueAnswer: Sendable, Equatable {
    public var path: String
    public var annotator: String
    /// JSON: `{"class": "cat"}`, `{"classes": [...]}`, `{"boxes": [...]}`, `{"skip": true}`, `{"flag": "note"}`.
    public var answer: String
    public var seconds: Double
    public var created: Date
    public var isGold: Bool
}

/// A queue's state.
public struct QueueSummary: Sendable, Equatable {
    public var spec: QueueSpec
    public var items: Int
    public var gold: Int
    /// Items with `overlap` answers (gold items need one).
    public var done: Int
    public var answers: Int
    public var activeLeases: Int
    public var annotators: [String]
    public var closed: Bool
}

extension Repository {
    /// Annotator ids: one line of printable text without ':' (it separates `annotator:ID` in label sources).
    static func checkAnnotator(_ annotator: String) throws(VersioningError) {
        guard !annotator.trimmingCharacters(in: .whitespaces).isEmpty, annotator.count <= 100,
              !annotator.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f || $0 == ":" || $0.properties.generalCategory == .lineSeparator || $0.properties.generalCategory == .paragraphSeparator })
        else {
            throw VersioningError(.invalid, "annotator '\(annotator.unicodeScalars.map { $0.value < 0x20 ? "\\u{\(String($0.value, radix: 16))}" : String($0) }.joined())': ids are one line of up to 100 characters, not empty, without control characters or ':'")
        }
    }

    static func validQueueName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 100 && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
    }

    /// Creates a queue over `items` (their order is the serving order).
    /// - Throws: ``VersioningError`` when the name is taken or invalid, an item is listed twice, or there are none.
    /// An empty queue (`allowEmpty`) is filled later, by `addQueueItems` or routing.
    public func createQueue(_ spec: QueueSpec, items: [QueueItem], allowEmpty: Bool = false) throws(VersioningError) {
        guard Self.validQueueName(spec.name) else { throw VersioningError(.invalid, "\(spec.name): queue names use letters, digits, '.', '_' and '-'") }
        guard spec.overlap >= 1, (0...1).contains(spec.goldRate), spec.leaseSeconds > 0 else {
            throw VersioningError(.invalid, "\(spec.name): overlap must be ≥ 1, gold rate within [0, 1], lease time positive")
        }
        guard !items.isEmpty || allowEmpty else { throw VersioningError(.invalid, "\(spec.name): no items to queue") }
        var seen = Set<String>()
        for item in items where !seen.insert(item.path).inserted { throw VersioningError(.invalid, "\(spec.name): \(item.path) is listed twice") }
        try write("creating queue \(spec.name)") { db in
            if try Int.fetchOne(db, sql: "SELECT 1 FROM queues WHERE name = ?", arguments: [spec.name]) != nil {
                throw VersioningError(.invalid, "queue \(spec.name) already exists")
            }
            try db.execute(sql: """
                INSERT INTO queues (name, task, overlap, gold_rate, lease_seconds, instructions, created, annotators, blocked) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [spec.name, spec.task.rawValue, spec.overlap, spec.goldRate, spec.leaseSeconds, spec.instructions, Date().timeIntervalSince1970,
                                 spec.annotators?.joined(separator: ","), spec.blocked.isEmpty ? nil : spec.blocked.joined(separator: ",")])
            _ = try insertQueueItems(db, spec.name, items)
        }
    }

    /// Appends items not already in the queue, after its last; returns how many were added.
    func insertQueueItems(_ db: Database, _ name: String, _ items: [QueueItem]) throws -> Int {
        var position = (try Int.fetchOne(db, sql: "SELECT MAX(position) FROM queue_items WHERE queue = ?", arguments: [name]) ?? -1) + 1
        var added = 0
        for item in items {
            if try Int.fetchOne(db, sql: "SELECT 1 FROM queue_items WHERE queue = ? AND path = ?", arguments: [name, item.path]) != nil { continue }
            try db.execute(sql: "INSERT INTO queue_items (queue, path, position, gold, suggestion, overlap, class, excluded) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           arguments: [name, item.path, position, item.gold, item.suggestion, item.overlap, item.predictedClass, item.excluded])
            position += 1
            added += 1
        }
        return added
    }

    /// Adds items to an open queue (those already in it are left as they are); returns how many were added.
    public func addQueueItems(_ name: String, items: [QueueItem]) throws(VersioningError) -> Int {
        try write("adding to queue \(name)") { db in
            let (_, closed) = try queueSpec(db, name)
            guard !closed else { throw VersioningError(.invalid, "queue \(name) is closed") }
            return try insertQueueItems(db, name, items)
        }
    }

    /// Sets who may work a queue (nil: anyone) and who receives nothing from it.
    public func setQueueAccess(_ name: String, annotators: [String]?, blocked: [String]) throws(VersioningError) {
        try write("setting who works queue \(name)") { db in
            _ = try queueSpec(db, name)
            try db.execute(sql: "UPDATE queues SET annotators = ?, blocked = ? WHERE name = ?",
                           arguments: [annotators?.joined(separator: ","), blocked.isEmpty ? nil : blocked.joined(separator: ","), name])
        }
    }

    /// Replaces the annotators' measured accuracy per class for a queue: each annotator is served the items whose
    /// predicted class they are most accurate on first.
    public func setQueueSkills(_ name: String, _ skills: [String: [String: Double]]) throws(VersioningError) {
        try write("setting skills for queue \(name)") { db in
            _ = try queueSpec(db, name)
            try db.execute(sql: "DELETE FROM queue_skills WHERE queue = ?", arguments: [name])
            for (annotator, classes) in skills {
                for (c, accuracy) in classes {
                    try db.execute(sql: "INSERT INTO queue_skills (queue, annotator, class, accuracy) VALUES (?, ?, ?, ?)", arguments: [name, annotator, c, accuracy])
                }
            }
        }
    }

    func queueSpec(_ db: Database, _ name: String) throws -> (QueueSpec, closed: Bool) {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM queues WHERE name = ?", arguments: [name]) else {
            let known = try String.fetchAll(db, sql: "SELECT name FROM queues ORDER BY name")
            throw VersioningError(.notFound, "no queue named \(name)" + (known.isEmpty ? " (there are none: curate queue create)" : " (queues: \(known.joined(separator: ", ")))"))
        }
        let list = { (text: String?) in text.map { $0.split(separator: ",").map(String.init) } }
        let spec = QueueSpec(name: row["name"], task: QueueSpec.Task(rawValue: row["task"]) ?? .classify, overlap: row["overlap"],
                             goldRate: row["gold_rate"], leaseSeconds: row["lease_seconds"], instructions: row["instructions"],
                             annotators: list(row["annotators"]), blocked: list(row["blocked"]) ?? [])
        return (spec, (row["closed"] as Double?) != nil)
    }

    public func queueSummaries() throws(VersioningError) -> [QueueSummary] {
        let names = try read("listing queues") { db in try String.fetchAll(db, sql: "SELECT name FROM queues ORDER BY name") }
        var result: [QueueSummary] = []
        for name in names { result.append(try queueSummary(name)) }
        return result
    }

    public func queueSummary(_ name: String, now: Date = Date()) throws(VersioningError) -> QueueSummary {
        try read("reading queue \(name)") { db in
            let (spec, closed) = try queueSpec(db, name)
            let items = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM queue_items WHERE queue = ?", arguments: [name]) ?? 0
            let gold = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM queue_items WHERE queue = ? AND gold IS NOT NULL", arguments: [name]) ?? 0
            let done = try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM queue_items q WHERE q.queue = ? AND
                  (SELECT COUNT(*) FROM queue_answers a WHERE a.queue = q.queue AND a.path = q.path) >= CASE WHEN q.gold IS NULL THEN COALESCE(q.overlap, ?) ELSE 1 END
                """, arguments: [name, spec.overlap]) ?? 0
            let answers = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM queue_answers WHERE queue = ?", arguments: [name]) ?? 0
            let leases = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM queue_leases WHERE queue = ? AND expires > ?", arguments: [name, now.timeIntervalSince1970]) ?? 0
            let annotators = try String.fetchAll(db, sql: "SELECT DISTINCT annotator FROM queue_answers WHERE queue = ? ORDER BY annotator", arguments: [name])
            return QueueSummary(spec: spec, items: items, gold: gold, done: done, answers: answers, activeLeases: leases, annotators: annotators, closed: closed)
        }
    }

    public func closeQueue(_ name: String) throws(VersioningError) {
        try write("closing queue \(name)") { db in
            _ = try queueSpec(db, name)
            try db.execute(sql: "UPDATE queues SET closed = ? WHERE name = ?", arguments: [Date().timeIntervalSince1970, name])
            try db.execute(sql: "DELETE FROM queue_leases WHERE queue = ?", arguments: [name])
        }
    }

    /// Leases the next item to `annotator` (or returns the one they already hold): an item they have not
    /// answered, with fewer than `overlap` answers plus other annotators' live leases; a gold item instead, at the
    /// queue's gold rate, among gold items they have not seen. nil when nothing is left for them.
    public func leaseNext(_ name: String, annotator: String, now: Date = Date()) throws(VersioningError) -> QueueItem? {
        try Self.checkAnnotator(annotator)
        return try write("leasing from queue \(name)") { db -> QueueItem? in
            let (spec, closed) = try queueSpec(db, name)
            guard !closed else { throw VersioningError(.invalid, "queue \(name) is closed") }
            if let experts = spec.annotators, !experts.contains(annotator) {
                throw VersioningError(.invalid, "queue \(name) is worked by \(experts.joined(separator: ", ")) only, not \(annotator)")
            }
            if spec.blocked.contains(annotator) { return nil }   // measured as likely spam: nothing to label
            let t = now.timeIntervalSince1970
            if let held = try Row.fetchOne(db, sql: """
                SELECT q.path, q.gold, q.suggestion, l.token FROM queue_leases l JOIN queue_items q ON q.queue = l.queue AND q.path = l.path
                WHERE l.queue = ? AND l.annotator = ? AND l.expires > ? ORDER BY q.position LIMIT 1
                """, arguments: [name, annotator, t]) {
                var item = QueueItem(path: held["path"], gold: held["gold"], suggestion: held["suggestion"])
                item.lease = held["token"] ?? ""
                if item.lease == "" {
                    // A lease from before tokens: give it one.
                    item.lease = UUID().uuidString.lowercased()
                    try db.execute(sql: "UPDATE queue_leases SET token = ? WHERE queue = ? AND path = ? AND annotator = ?", arguments: [item.lease, name, item.path, annotator])
                }
                return item
            }
            try db.execute(sql: "DELETE FROM queue_leases WHERE queue = ? AND expires <= ?", arguments: [name, t])
            let answered = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM queue_answers WHERE queue = ? AND annotator = ?", arguments: [name, annotator]) ?? 0
            // Gold at the queue's rate: a deterministic draw per (annotator, answers so far), so a resumed session
            // serves the same mix.
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in "\(annotator)#\(answered)".utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
            let wantGold = Double(hash % 1_000_000) / 1_000_000 < spec.goldRate
            let open = """
                SELECT q.path, q.gold, q.suggestion FROM queue_items q WHERE q.queue = ?1 AND %@
                  AND NOT EXISTS (SELECT 1 FROM queue_answers a WHERE a.queue = q.queue AND a.path = q.path AND a.annotator = ?2)
                  AND NOT EXISTS (SELECT 1 FROM queue_leases l WHERE l.queue = q.queue AND l.path = q.path AND l.annotator = ?2)
                  AND (q.excluded IS NULL OR q.excluded <> ?2)
                  AND (q.gold IS NOT NULL OR (SELECT COUNT(*) FROM queue_answers a WHERE a.queue = q.queue AND a.path = q.path)
                     + (SELECT COUNT(*) FROM queue_leases l WHERE l.queue = q.queue AND l.path = q.path) < COALESCE(q.overlap, ?3))
                ORDER BY COALESCE((SELECT s.accuracy FROM queue_skills s WHERE s.queue = q.queue AND s.annotator = ?2 AND s.class = q.class), 0) DESC,
                  q.position LIMIT 1
                """
            var row: Row?
            if wantGold { row = try Row.fetchOne(db, sql: String(format: open, "q.gold IS NOT NULL"), arguments: [name, annotator, spec.overlap]) }
            if row == nil { row = try Row.fetchOne(db, sql: String(format: open, "q.gold IS NULL"), arguments: [name, annotator, spec.overlap]) }
            guard let row else { return nil }
            var item = QueueItem(path: row["path"], gold: row["gold"], suggestion: row["suggestion"])
            item.lease = UUID().uuidString.lowercased()
            try db.execute(sql: "INSERT OR REPLACE INTO queue_leases (queue, path, annotator, expires, token) VALUES (?, ?, ?, ?, ?)",
                           arguments: [name, item.path, annotator, t + spec.leaseSeconds, item.lease])
            return item
        }
    }

    /// The items `leaseNext` would serve this annotator after the one they hold, in order (a few non-gold items
    /// and the next gold one), without leasing anything: for prefetching images. Another annotator may take them
    /// first.
    public func upcoming(_ name: String, annotator: String, limit: Int = 2, now: Date = Date()) throws(VersioningError) -> [String] {
        try read("reading queue \(name)") { db -> [String] in
            let (spec, _) = try queueSpec(db, name)
            let open = """
                SELECT q.path FROM queue_items q WHERE q.queue = ?1 AND %@
                  AND NOT EXISTS (SELECT 1 FROM queue_answers a WHERE a.queue = q.queue AND a.path = q.path AND a.annotator = ?2)
                  AND NOT EXISTS (SELECT 1 FROM queue_leases l WHERE l.queue = q.queue AND l.path = q.path AND (l.annotator = ?2 OR l.expires > ?4))
                  AND (q.excluded IS NULL OR q.excluded <> ?2)
                  AND (q.gold IS NOT NULL OR (SELECT COUNT(*) FROM queue_answers a WHERE a.queue = q.queue AND a.path = q.path) < COALESCE(q.overlap, ?3))
                ORDER BY COALESCE((SELECT s.accuracy FROM queue_skills s WHERE s.queue = q.queue AND s.annotator = ?2 AND s.class = q.class), 0) DESC,
                  q.position LIMIT ?5
                """
            let arguments: StatementArguments = [name, annotator, spec.overlap, now.timeIntervalSince1970, limit]
            return try String.fetchAll(db, sql: String(format: open, "q.gold IS NULL"), arguments: arguments)
                + (spec.goldRate > 0 ? try String.fetchAll(db, sql: String(format: open, "q.gold IS NOT NULL"), arguments: arguments).prefix(1) : [])
        }
    }

    /// Stores an answer and releases the lease, in one durable transaction (synchronous = FULL): once this
    /// returns, the answer survives a crash. The answer must present the annotator's lease on the item (its
    /// token): no answer without a lease, on another annotator's lease, or past the item's overlap.
    /// - Throws: `.invalid` naming what broke the queue's rules; `.notFound` for an unknown queue or item.
    public func storeAnswer(_ name: String, path: String, annotator: String, answer: String, seconds: Double, lease: String,
                            now: Date = Date()) throws(VersioningError) {
        try Self.checkAnnotator(annotator)
        guard seconds.isFinite, seconds >= 0, seconds < 1e7 else {
            throw VersioningError(.invalid, "seconds spent must be a finite number of seconds ≥ 0, not \(seconds)")
        }
        try write("storing an answer in queue \(name)") { db in
            let (spec, closed) = try queueSpec(db, name)
            guard !closed else { throw VersioningError(.invalid, "queue \(name) is closed") }
            guard let item = try Row.fetchOne(db, sql: "SELECT gold, overlap FROM queue_items WHERE queue = ? AND path = ?", arguments: [name, path]) else {
                throw VersioningError(.notFound, "\(path) is not in queue \(name)")
            }
            if try Int.fetchOne(db, sql: "SELECT 1 FROM queue_answers WHERE queue = ? AND path = ? AND annotator = ?", arguments: [name, path, annotator]) != nil {
                throw VersioningError(.invalid, "\(path): \(annotator) has already answered it in queue \(name) (undo first to change it)")
            }
            guard let held = try Row.fetchOne(db, sql: "SELECT token, expires FROM queue_leases WHERE queue = ? AND path = ? AND annotator = ?",
                                              arguments: [name, path, annotator]) else {
                let others = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM queue_leases WHERE queue = ? AND path = ? AND expires > ?",
                                              arguments: [name, path, now.timeIntervalSince1970]) ?? 0
                throw VersioningError(.invalid, "\(path): \(annotator) holds no lease on it in queue \(name)"
                    + (others > 0 ? " (another annotator does)" : "") + "; lease it first with curate queue next")
            }
            guard (held["token"] as String?) == lease else {
                throw VersioningError(.invalid, "\(path): the lease token does not match \(annotator)'s lease in queue \(name); lease it again with curate queue next")
            }
            // A lease that expired still counts only while the item needs answers.
            if (held["expires"] as Double) <= now.timeIntervalSince1970, (item["gold"] as String?) == nil {
                let answers = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM queue_answers WHERE queue = ? AND path = ?", arguments: [name, path]) ?? 0
                guard answers < ((item["overlap"] as Int?) ?? spec.overlap) else {
                    throw VersioningError(.invalid, "\(path): \(annotator)'s lease expired and the item has all its answers in queue \(name)")
                }
            }
            try db.execute(sql: "INSERT INTO queue_answers (queue, path, annotator, answer, seconds, created) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [name, path, annotator, answer, seconds, now.timeIntervalSince1970])
            try db.execute(sql: "DELETE FROM queue_leases WHERE queue = ? AND path = ? AND annotator = ?", arguments: [name, path, annotator])
        }
    }

    /// Every item of a queue, in serving order.
    public func queueItems(_ name: String) throws(VersioningError) -> [QueueItem] {
        try read("reading queue \(name)") { db in
            _ = try queueSpec(db, name)
            return try Row.fetchAll(db, sql: "SELECT * FROM queue_items WHERE queue = ? ORDER BY position", arguments: [name]).map {
                QueueItem(path: $0["path"], gold: $0["gold"], suggestion: $0["suggestion"], overlap: $0["overlap"], predictedClass: $0["class"], excluded: $0["excluded"])
            }
        }
    }

    /// Takes back the annotator's latest answer and leases its item to them again; returns it (nil if none).
    public func undoLastAnswer(_ name: String, annotator: String, now: Date = Date()) throws(VersioningError) -> QueueItem? {
        try write("undoing in queue \(name)") { db -> QueueItem? in
            let (spec, _) = try queueSpec(db, name)
            guard let row = try Row.fetchOne(db, sql: """
                SELECT q.path, q.gold, q.suggestion FROM queue_answers a JOIN queue_items q ON q.queue = a.queue AND q.path = a.path
                WHERE a.queue = ? AND a.annotator = ? ORDER BY a.created DESC, a.rowid DESC LIMIT 1
                """, arguments: [name, annotator]) else { return nil }
            var item = QueueItem(path: row["path"], gold: row["gold"], suggestion: row["suggestion"])
            item.lease = UUID().uuidString.lowercased()
            try db.execute(sql: "DELETE FROM queue_answers WHERE queue = ? AND path = ? AND annotator = ?", arguments: [name, item.path, annotator])
            try db.execute(sql: "DELETE FROM queue_leases WHERE queue = ? AND annotator = ?", arguments: [name, annotator])
            try db.execute(sql: "INSERT INTO queue_leases (queue, path, annotator, expires, token) VALUES (?, ?, ?, ?, ?)",
                           arguments: [name, item.path, annotator, now.timeIntervalSince1970 + spec.leaseSeconds, item.lease])
            return item
        }
    }

    /// Every answer of a queue, in the order they were given.
    public func queueAnswers(_ name: String) throws(VersioningError) -> [QueueAnswer] {
        try read("reading answers of queue \(name)") { db in
            _ = try queueSpec(db, name)
            return try Row.fetchAll(db, sql: """
                SELECT a.*, q.gold IS NOT NULL AS is_gold FROM queue_answers a JOIN queue_items q ON q.queue = a.queue AND q.path = a.path
                WHERE a.queue = ? ORDER BY a.created, a.rowid
                """, arguments: [name]).map {
                QueueAnswer(path: $0["path"], annotator: $0["annotator"], answer: $0["answer"], seconds: $0["seconds"],
                            created: Date(timeIntervalSince1970: $0["created"]), isGold: $0["is_gold"])
            }
        }
    }
}
