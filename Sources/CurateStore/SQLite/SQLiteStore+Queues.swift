import Foundation
import GRDB

/// A row of `queues` (low volume: a record type). Lists are stored comma-separated.
struct QueueRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "queues"
    var name: String
    var task: String
    var overlap: Int
    var goldRate: Double
    var leaseSeconds: Double
    var instructions: String
    var created: Double
    var closed: Double?
    var annotators: String?
    var blocked: String?
    var policy: String?

    enum CodingKeys: String, CodingKey {
        case name, task, overlap, goldRate = "gold_rate", leaseSeconds = "lease_seconds", instructions, created, closed, annotators, blocked, policy
    }

    init(_ spec: QueueSpec, created: Date) {
        name = spec.name; task = spec.task.rawValue; overlap = spec.overlap; goldRate = spec.goldRate; leaseSeconds = spec.leaseSeconds
        instructions = spec.instructions; self.created = created.timeIntervalSince1970
        annotators = spec.annotators?.joined(separator: ","); blocked = spec.blocked.isEmpty ? nil : spec.blocked.joined(separator: ",")
        policy = spec.policy
    }

    var spec: QueueSpec {
        let list = { (text: String?) in text.map { $0.split(separator: ",").map(String.init) } }
        var spec = QueueSpec(name: name, task: QueueSpec.Task(rawValue: task) ?? .classify, overlap: overlap, goldRate: goldRate, leaseSeconds: leaseSeconds,
                             instructions: instructions, annotators: list(annotators), blocked: list(blocked) ?? [])
        spec.policy = policy
        return spec
    }
}

extension QueueItem {
    /// The one decoder of a `queue_items` row (any subset of its columns).
    init(row: Row) {
        self.init(path: row["path"], gold: row["gold"], suggestion: row["suggestion"], overlap: row["overlap"], predictedClass: row["class"], excluded: row["excluded"])
    }
}

extension SQLiteStore {
    package func createQueue(_ spec: QueueSpec, items: [QueueItem], allowEmpty: Bool) throws(StoreError) {
        try QueueRules.checkNew(spec, items: items, allowEmpty: allowEmpty)
        try write("creating queue \(spec.name)") { db in
            if try QueueRow.fetchOne(db, key: spec.name) != nil { throw StoreError(.usage, "queue \(spec.name) already exists") }
            try QueueRow(spec, created: Date()).insert(db)
            _ = try insertItems(db, spec.name, items)
        }
    }

    /// Appends items not already in the queue, after its last; returns how many were added.
    func insertItems(_ db: Database, _ name: String, _ items: [QueueItem]) throws -> Int {
        var position = (try Int.fetchOne(db, sql: "SELECT MAX(position) FROM queue_items WHERE queue = ?", arguments: [name]) ?? -1) + 1
        var added = 0
        for item in items {
            try db.execute(sql: "INSERT OR IGNORE INTO queue_items (queue, path, position, gold, suggestion, overlap, class, excluded) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           arguments: [name, item.path, position, item.gold, item.suggestion, item.overlap, item.predictedClass, item.excluded])
            if db.changesCount > 0 { position += 1; added += 1 }
        }
        return added
    }

    package func addQueueItems(_ name: String, items: [QueueItem]) throws(StoreError) -> Int {
        try write("adding to queue \(name)") { db in
            guard try queue(db, name).closed == nil else { throw QueueRules.closed(name) }
            return try insertItems(db, name, items)
        }
    }

    package func setQueueAccess(_ name: String, annotators: [String]?, blocked: [String]) throws(StoreError) {
        try write("setting who works queue \(name)") { db in
            var row = try queue(db, name)
            row.annotators = annotators?.joined(separator: ",")
            row.blocked = blocked.isEmpty ? nil : blocked.joined(separator: ",")
            try row.update(db)
        }
    }

    package func setQueueSkills(_ name: String, _ skills: [String: [String: Double]]) throws(StoreError) {
        try write("setting skills for queue \(name)") { db in
            _ = try queue(db, name)
            try db.execute(sql: "DELETE FROM queue_skills WHERE queue = ?", arguments: [name])
            for (annotator, classes) in skills {
                for (c, accuracy) in classes {
                    try db.execute(sql: "INSERT INTO queue_skills (queue, annotator, class, accuracy) VALUES (?, ?, ?, ?)", arguments: [name, annotator, c, accuracy])
                }
            }
        }
    }

    /// The queue's row, or the error naming the queues there are.
    func queue(_ db: Database, _ name: String) throws -> QueueRow {
        guard let row = try QueueRow.fetchOne(db, key: name) else {
            throw QueueRules.unknownQueue(name, known: try String.fetchAll(db, sql: "SELECT name FROM queues ORDER BY name"))
        }
        return row
    }

    package func queueNames() throws(StoreError) -> [String] {
        try read("listing queues") { db in try String.fetchAll(db, sql: "SELECT name FROM queues ORDER BY name") }
    }

    package func queueSummary(_ name: String, now: Date) throws(StoreError) -> QueueSummary {
        try read("reading queue \(name)") { db in
            let row = try queue(db, name)
            let items = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM queue_items WHERE queue = ?", arguments: [name]) ?? 0
            let gold = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM queue_items WHERE queue = ? AND gold IS NOT NULL", arguments: [name]) ?? 0
            let done = try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM queue_items q WHERE q.queue = ? AND
                  (SELECT COUNT(*) FROM queue_answers a WHERE a.queue = q.queue AND a.path = q.path AND a.held = 0) >= CASE WHEN q.gold IS NULL THEN COALESCE(q.overlap, ?) ELSE 1 END
                """, arguments: [name, row.overlap]) ?? 0
            let answers = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM queue_answers WHERE queue = ? AND held = 0", arguments: [name]) ?? 0
            let leases = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM queue_leases WHERE queue = ? AND expires > ?", arguments: [name, now.timeIntervalSince1970]) ?? 0
            let annotators = try String.fetchAll(db, sql: "SELECT DISTINCT annotator FROM queue_answers WHERE queue = ? ORDER BY annotator", arguments: [name])
            return QueueSummary(spec: row.spec, items: items, gold: gold, done: done, answers: answers, activeLeases: leases, annotators: annotators, closed: row.closed != nil)
        }
    }

    package func activeLeases(_ name: String, now: Date) throws(StoreError) -> [QueueLease] {
        try read("reading queue \(name)") { db in
            _ = try queue(db, name)
            return try Row.fetchAll(db, sql: """
                SELECT l.path, l.annotator, l.leased, l.expires FROM queue_leases l JOIN queue_items q ON q.queue = l.queue AND q.path = l.path
                WHERE l.queue = ? AND l.expires > ? ORDER BY l.leased, q.position
                """, arguments: [name, now.timeIntervalSince1970]).map {
                QueueLease(path: $0["path"], annotator: $0["annotator"], leased: ($0["leased"] as Double?).map(Date.init(timeIntervalSince1970:)),
                           expires: Date(timeIntervalSince1970: $0["expires"]))
            }
        }
    }

    package func closeQueue(_ name: String) throws(StoreError) {
        try write("closing queue \(name)") { db in
            var row = try queue(db, name)
            row.closed = Date().timeIntervalSince1970
            try row.update(db)
            try db.execute(sql: "DELETE FROM queue_leases WHERE queue = ?", arguments: [name])
        }
    }

    /// The next open item for an annotator (gold or not), by skill then position. `leased` counts other
    /// annotators' live leases against the overlap (leasing) or hides leased items (prefetching).
    /// Items that have all their answers are left out through the partial index of open items (`done`, kept by
    /// triggers); without skills for the annotator, serving order is the position, so the index walk stops at the
    /// first open item.
    static func openItems(gold: Bool, leased: String, counting: String, skills: Bool) -> String {
        """
        SELECT q.path, q.gold, q.suggestion FROM queue_items q WHERE q.queue = ?1 AND q.done = 0 AND \(gold ? "q.gold IS NOT NULL" : "q.gold IS NULL")
          AND NOT EXISTS (SELECT 1 FROM queue_answers a WHERE a.queue = q.queue AND a.path = q.path AND a.annotator = ?2)
          AND NOT EXISTS (SELECT 1 FROM queue_leases l WHERE l.queue = q.queue AND l.path = q.path AND \(leased))
          AND (q.excluded IS NULL OR q.excluded <> ?2)
          AND (q.gold IS NOT NULL OR q.answers\(counting) < COALESCE(q.overlap, ?3))
        ORDER BY \(skills ? "COALESCE((SELECT s.accuracy FROM queue_skills s WHERE s.queue = q.queue AND s.annotator = ?2 AND s.class = q.class), 0) DESC," : "")
          q.position LIMIT ?4
        """
    }

    static func hasSkills(_ db: Database, _ name: String, _ annotator: String) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM queue_skills WHERE queue = ? AND annotator = ?)", arguments: [name, annotator]) ?? false
    }

    package func leaseNext(_ name: String, annotator: String, now: Date) throws(StoreError) -> QueueItem? {
        try QueueRules.checkAnnotator(annotator)
        return try write("leasing from queue \(name)") { db -> QueueItem? in
            let row = try queue(db, name)
            let spec = row.spec
            guard row.closed == nil else { throw QueueRules.closed(name) }
            if let experts = spec.annotators, !experts.contains(annotator) {
                throw StoreError(.usage, "queue \(name) is worked by \(experts.joined(separator: ", ")) only, not \(annotator)")
            }
            if spec.blocked.contains(annotator) { return nil }   // measured as likely spam: nothing to label
            let t = now.timeIntervalSince1970
            if let held = try Row.fetchOne(db, sql: """
                SELECT q.path, q.gold, q.suggestion, l.token FROM queue_leases l JOIN queue_items q ON q.queue = l.queue AND q.path = l.path
                WHERE l.queue = ? AND l.annotator = ? AND l.expires > ? ORDER BY q.position LIMIT 1
                """, arguments: [name, annotator, t]) {
                var item = QueueItem(row: held)
                item.lease = held["token"] ?? ""
                if item.lease == "" {
                    // A lease from before tokens: give it one.
                    item.lease = QueueRules.newToken()
                    try db.execute(sql: "UPDATE queue_leases SET token = ? WHERE queue = ? AND path = ? AND annotator = ?", arguments: [item.lease, name, item.path, annotator])
                }
                return item
            }
            try db.execute(sql: "DELETE FROM queue_leases WHERE queue = ? AND expires <= ?", arguments: [name, t])
            let answered = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM queue_answers WHERE queue = ? AND annotator = ?", arguments: [name, annotator]) ?? 0
            let skills = try Self.hasSkills(db, name, annotator)
            let open = { (gold: Bool) in
                Self.openItems(gold: gold, leased: "l.annotator = ?2", counting: " + (SELECT COUNT(*) FROM queue_leases l WHERE l.queue = q.queue AND l.path = q.path)",
                               skills: skills)
            }
            var next: Row?
            let arguments: StatementArguments = [name, annotator, spec.overlap, 1]
            let rate = try Double.fetchOne(db, sql: "SELECT rate FROM queue_gold_rates WHERE queue = ? AND annotator = ?", arguments: [name, annotator]) ?? spec.goldRate
            if QueueRules.wantsGold(annotator: annotator, answered: answered, rate: rate) {
                next = try Row.fetchOne(db, sql: open(true), arguments: arguments)
            }
            if next == nil { next = try Row.fetchOne(db, sql: open(false), arguments: arguments) }
            guard let next else { return nil }
            var item = QueueItem(row: next)
            item.lease = QueueRules.newToken()
            try db.execute(sql: "INSERT OR REPLACE INTO queue_leases (queue, path, annotator, expires, token, leased) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [name, item.path, annotator, t + spec.leaseSeconds, item.lease, t])
            return item
        }
    }

    package func renewLease(_ name: String, path: String, annotator: String, lease: String, now: Date) throws(StoreError) -> Date {
        try write("renewing a lease in queue \(name)") { db -> Date in
            let row = try queue(db, name)
            guard row.closed == nil else { throw QueueRules.closed(name) }
            let expires = now.timeIntervalSince1970 + row.leaseSeconds
            try db.execute(sql: "UPDATE queue_leases SET expires = ? WHERE queue = ? AND path = ? AND annotator = ? AND token = ? AND expires > ?",
                           arguments: [expires, name, path, annotator, lease, now.timeIntervalSince1970])
            guard db.changesCount == 1 else {
                throw StoreError(.conflict, "\(path): \(annotator)'s lease in queue \(name) expired or was replaced; lease it again with curate queue next")
            }
            return Date(timeIntervalSince1970: expires)
        }
    }

    package func upcoming(_ name: String, annotator: String, limit: Int, now: Date) throws(StoreError) -> [String] {
        try read("reading queue \(name)") { db -> [String] in
            let spec = try queue(db, name).spec
            let skills = try Self.hasSkills(db, name, annotator)
            let open = { (gold: Bool) in Self.openItems(gold: gold, leased: "(l.annotator = ?2 OR l.expires > ?5)", counting: "", skills: skills) }
            let arguments: StatementArguments = [name, annotator, spec.overlap, limit, now.timeIntervalSince1970]
            return try Row.fetchAll(db, sql: open(false), arguments: arguments).map { $0["path"] }
                + (spec.goldRate > 0 ? try Row.fetchAll(db, sql: open(true), arguments: arguments).prefix(1).map { $0["path"] } : [])
        }
    }

    @discardableResult
    package func storeAnswer(_ name: String, path: String, annotator: String, answer: String, seconds: Double, lease: String,
                             now: Date) throws(StoreError) -> AnswerOutcome {
        try QueueRules.checkAnnotator(annotator)
        try QueueRules.checkSeconds(seconds)
        return try write("storing an answer in queue \(name)") { db -> AnswerOutcome in
            let row = try queue(db, name)
            guard row.closed == nil else { throw QueueRules.closed(name) }
            guard let item = try Row.fetchOne(db, sql: "SELECT gold, overlap FROM queue_items WHERE queue = ? AND path = ?", arguments: [name, path]) else {
                throw StoreError(.notFound, "\(path) is not in queue \(name)")
            }
            if try Int.fetchOne(db, sql: "SELECT 1 FROM queue_answers WHERE queue = ? AND path = ? AND annotator = ?", arguments: [name, path, annotator]) != nil {
                throw StoreError(.usage, "\(path): \(annotator) has already answered it in queue \(name) (undo first to change it)")
            }
            if row.spec.blocked.contains(annotator) { throw QueueRules.paused(name, annotator: annotator, reason: try Self.blockReason(db, name, annotator)) }
            guard let held = try Row.fetchOne(db, sql: "SELECT token, expires FROM queue_leases WHERE queue = ? AND path = ? AND annotator = ?",
                                              arguments: [name, path, annotator]) else {
                let others = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM queue_leases WHERE queue = ? AND path = ? AND expires > ?",
                                              arguments: [name, path, now.timeIntervalSince1970]) ?? 0
                throw StoreError(.usage, "\(path): \(annotator) holds no lease on it in queue \(name)"
                    + (others > 0 ? " (another annotator does)" : "") + "; lease it first with curate queue next")
            }
            guard (held["token"] as String?) == lease else {
                throw StoreError(.usage, "\(path): the lease token does not match \(annotator)'s lease in queue \(name); lease it again with curate queue next")
            }
            // A lease that expired still counts only while the item needs answers.
            if (held["expires"] as Double) <= now.timeIntervalSince1970, (item["gold"] as String?) == nil {
                let answers = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM queue_answers WHERE queue = ? AND path = ?", arguments: [name, path]) ?? 0
                if answers >= ((item["overlap"] as Int?) ?? row.overlap) {
                    // Too late: the item went to others and has its answers. Kept, never counted.
                    try db.execute(sql: "INSERT INTO queue_late_answers (queue, path, annotator, answer, seconds, created, lease) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                   arguments: [name, path, annotator, answer, seconds, now.timeIntervalSince1970, lease])
                    try db.execute(sql: "DELETE FROM queue_leases WHERE queue = ? AND path = ? AND annotator = ?", arguments: [name, path, annotator])
                    return .late
                }
            }
            try db.execute(sql: "INSERT INTO queue_answers (queue, path, annotator, answer, seconds, created) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [name, path, annotator, answer, seconds, now.timeIntervalSince1970])
            try db.execute(sql: "DELETE FROM queue_leases WHERE queue = ? AND path = ? AND annotator = ?", arguments: [name, path, annotator])
            return .stored
        }
    }

    package func lateAnswers(_ name: String) throws(StoreError) -> [QueueAnswer] {
        try read("reading late answers of queue \(name)") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM queue_late_answers WHERE queue = ? ORDER BY id", arguments: [name]).map {
                QueueAnswer(path: $0["path"], annotator: $0["annotator"], answer: $0["answer"], seconds: $0["seconds"],
                            created: Date(timeIntervalSince1970: $0["created"]), isGold: false)
            }
        }
    }

    package func queueItems(_ name: String) throws(StoreError) -> [QueueItem] {
        try read("reading queue \(name)") { db in
            _ = try queue(db, name)
            return try Row.fetchAll(db, sql: "SELECT * FROM queue_items WHERE queue = ? ORDER BY position", arguments: [name]).map(QueueItem.init(row:))
        }
    }

    package func reopenAnswer(_ name: String, annotator: String, path: String?, now: Date) throws(StoreError) -> QueueItem? {
        try write("undoing in queue \(name)") { db -> QueueItem? in
            let row = try queue(db, name)
            if row.spec.blocked.contains(annotator) { throw QueueRules.paused(name, annotator: annotator, reason: try Self.blockReason(db, name, annotator)) }
            guard let last = try Row.fetchOne(db, sql: """
                SELECT q.path, q.gold, q.suggestion FROM queue_answers a JOIN queue_items q ON q.queue = a.queue AND q.path = a.path
                WHERE a.queue = ? AND a.annotator = ? AND (? IS NULL OR a.path = ?) ORDER BY a.created DESC, a.rowid DESC LIMIT 1
                """, arguments: [name, annotator, path, path]) else { return nil }
            var item = QueueItem(row: last)
            item.lease = QueueRules.newToken()
            try db.execute(sql: "DELETE FROM queue_answers WHERE queue = ? AND path = ? AND annotator = ?", arguments: [name, item.path, annotator])
            try db.execute(sql: "DELETE FROM queue_leases WHERE queue = ? AND annotator = ?", arguments: [name, annotator])
            try db.execute(sql: "INSERT INTO queue_leases (queue, path, annotator, expires, token, leased) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [name, item.path, annotator, now.timeIntervalSince1970 + row.leaseSeconds, item.lease, now.timeIntervalSince1970])
            return item
        }
    }

    package func annotatorProgress(_ name: String, annotator: String) throws(StoreError) -> (answers: Int, open: Int) {
        try read("reading queue \(name)") { db in
            let row = try queue(db, name)
            let answers = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM queue_answers WHERE queue = ? AND annotator = ?", arguments: [name, annotator]) ?? 0
            let open = try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM queue_items q WHERE q.queue = ? AND q.gold IS NULL
                  AND NOT EXISTS (SELECT 1 FROM queue_answers a WHERE a.queue = q.queue AND a.path = q.path AND a.annotator = ?)
                  AND (SELECT COUNT(*) FROM queue_answers a WHERE a.queue = q.queue AND a.path = q.path AND a.held = 0) < COALESCE(q.overlap, ?)
                """, arguments: [name, annotator, row.overlap]) ?? 0
            return (answers, open)
        }
    }

    package func queueAnswers(_ name: String, includeHeld: Bool) throws(StoreError) -> [QueueAnswer] {
        try read("reading answers of queue \(name)") { db in
            _ = try queue(db, name)
            return try Row.fetchAll(db, sql: """
                SELECT a.rowid AS id, a.*, q.gold IS NOT NULL AS is_gold FROM queue_answers a JOIN queue_items q ON q.queue = a.queue AND q.path = a.path
                WHERE a.queue = ?\(includeHeld ? "" : " AND a.held = 0") ORDER BY a.created, a.rowid
                """, arguments: [name]).map(Self.answer)
        }
    }

    static func answer(_ row: Row) -> QueueAnswer {
        var answer = QueueAnswer(path: row["path"], annotator: row["annotator"], answer: row["answer"], seconds: row["seconds"],
                    created: Date(timeIntervalSince1970: row["created"]), isGold: row["is_gold"] ?? false, held: row["held"] ?? false, id: row["id"] ?? 0)
        answer.goldAnswer = row["gold_answer"]
        return answer
    }
}
