import Foundation
import GRDB

/// Vetting on the embedded store: the event log (kept by triggers), decisions and adaptive gold rates.
extension SQLiteStore {
    package func queueSpec(_ name: String) throws(StoreError) -> QueueSpec {
        try read("reading queue \(name)") { db in try queue(db, name).spec }
    }

    package func setQueuePolicy(_ name: String, policy: String?) throws(StoreError) {
        try write("setting the policy of queue \(name)") { db in
            _ = try queue(db, name)
            try db.execute(sql: "UPDATE queues SET policy = ? WHERE name = ?", arguments: [policy, name])
        }
    }

    package func queueEvents(_ name: String, after: Int64, limit: Int) throws(StoreError) -> [QueueEvent] {
        try read("reading the answers of queue \(name)") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM queue_events WHERE queue = ? AND id > ? ORDER BY id LIMIT ?", arguments: [name, after, limit]).map { row in
                var answer = Self.answer(row)
                answer.id = 0
                return QueueEvent(id: row["id"], kind: QueueEvent.Kind(rawValue: row["kind"]) ?? .answer, answer: answer)
            }
        }
    }

    package func queueItems(_ name: String, from position: Int, limit: Int) throws(StoreError) -> [(position: Int, item: QueueItem)] {
        try read("reading queue \(name)") { db in
            _ = try queue(db, name)
            return try Row.fetchAll(db, sql: "SELECT * FROM queue_items WHERE queue = ? AND position >= ? ORDER BY position LIMIT ?",
                                    arguments: [name, position, limit]).map { (position: $0["position"], item: QueueItem(row: $0)) }
        }
    }

    package func annotatorContext(_ name: String, annotator: String, recent: Int) throws(StoreError) -> [QueueAnswer] {
        try read("reading answers of queue \(name)") { db in
            _ = try queue(db, name)
            let select = "SELECT a.rowid AS id, a.*, q.gold IS NOT NULL AS is_gold, q.gold AS gold_answer FROM queue_answers a JOIN queue_items q ON q.queue = a.queue AND q.path = a.path"
            let rows = try Row.fetchAll(db, sql: """
                \(select) WHERE a.queue = ?1 AND a.path IN (SELECT path FROM queue_answers WHERE queue = ?1 AND annotator = ?2)
                UNION \(select) WHERE a.rowid IN (SELECT rowid FROM queue_answers WHERE queue = ?1 ORDER BY rowid DESC LIMIT ?3)
                ORDER BY created, id
                """, arguments: [name, annotator, recent])
            return rows.map(Self.answer)
        }
    }

    static func blockReason(_ db: Database, _ name: String, _ annotator: String) throws -> String? {
        try String.fetchOne(db, sql: "SELECT reason FROM queue_decisions WHERE queue = ? AND annotator = ? AND action = 'block' ORDER BY id DESC LIMIT 1",
                            arguments: [name, annotator])
    }

    package func recordDecision(_ name: String, _ decision: QueueDecision) throws(StoreError) -> QueueDecision? {
        try QueueRules.checkAnnotator(decision.annotator)
        return try write("recording a decision in queue \(name)") { db -> QueueDecision? in
            var row = try queue(db, name)
            var blocked = row.spec.blocked
            let latest = try String.fetchOne(db, sql: "SELECT action FROM queue_decisions WHERE queue = ? AND annotator = ? ORDER BY id DESC LIMIT 1",
                                             arguments: [name, decision.annotator]).flatMap(QueueDecision.Action.init(rawValue:))
            guard QueueRules.changes(decision.action, blocked: blocked.contains(decision.annotator), latest: latest) else { return nil }
            switch decision.action {
            case .block:
                blocked.append(decision.annotator)
                try db.execute(sql: "UPDATE queue_answers SET held = 1 WHERE queue = ? AND annotator = ?", arguments: [name, decision.annotator])
                try db.execute(sql: "DELETE FROM queue_leases WHERE queue = ? AND annotator = ?", arguments: [name, decision.annotator])
            case .unblock:
                blocked.removeAll { $0 == decision.annotator }
                try db.execute(sql: "UPDATE queue_answers SET held = 0 WHERE queue = ? AND annotator = ?", arguments: [name, decision.annotator])
            case .review, .clear: break
            }
            if blocked != row.spec.blocked {
                row.blocked = blocked.isEmpty ? nil : blocked.joined(separator: ",")
                try row.update(db)
            }
            try db.execute(sql: "INSERT INTO queue_decisions (queue, annotator, action, reason, evidence, by_whom, created) VALUES (?, ?, ?, ?, ?, ?, ?)",
                           arguments: [name, decision.annotator, decision.action.rawValue, decision.reason, QueueRules.evidenceText(decision.evidence),
                                       decision.by, decision.created.timeIntervalSince1970])
            var recorded = decision
            recorded.id = db.lastInsertedRowID
            return recorded
        }
    }

    package func decisions(_ name: String, after: Int64) throws(StoreError) -> [QueueDecision] {
        try read("reading decisions of queue \(name)") { db in
            _ = try queue(db, name)
            return try Row.fetchAll(db, sql: "SELECT * FROM queue_decisions WHERE queue = ? AND id > ? ORDER BY id", arguments: [name, after]).map { row in
                var d = QueueDecision(annotator: row["annotator"], action: QueueDecision.Action(rawValue: row["action"]) ?? .review, reason: row["reason"],
                                      evidence: QueueRules.evidence(row["evidence"]), by: row["by_whom"], created: Date(timeIntervalSince1970: row["created"]))
                d.id = row["id"]
                return d
            }
        }
    }

    package func setGoldRates(_ name: String, _ rates: [String: Double]) throws(StoreError) {
        for (who, rate) in rates { try QueueRules.checkRate(rate, who) }
        try write("setting gold rates in queue \(name)") { db in
            _ = try queue(db, name)
            for (who, rate) in rates.sorted(by: { $0.key < $1.key }) {
                try db.execute(sql: "INSERT OR REPLACE INTO queue_gold_rates (queue, annotator, rate) VALUES (?, ?, ?)", arguments: [name, who, rate])
            }
        }
    }
}
