import Foundation
import PostgresNIO

/// Vetting on a shared store: the event log (written by the answer trigger as the schema's owner), decisions and
/// adaptive gold rates. Reading the log and deciding are for leads; an annotator reads their own decisions.
extension PostgresStore {
    package func mayVet() -> Bool {
        (try? read("checking who is connected") { tx in
            try tx.row("SELECT pg_has_role(session_user, (SELECT relowner FROM pg_class WHERE oid = 'queue_answers'::regclass), 'USAGE') AS lead")
                .map { try $0["lead"].decode(Bool.self) } ?? false
        }) ?? false
    }

    package func queueSpec(_ name: String) throws(StoreError) -> QueueSpec {
        try read("reading queue \(name)") { tx in try queue(tx, name).spec }
    }

    package func setQueuePolicy(_ name: String, policy: String?) throws(StoreError) {
        try write("setting the policy of queue \(name)") { tx in
            _ = try queue(tx, name, lock: true)
            try tx.execute("UPDATE queues SET policy = $1 WHERE name = $2", [.text(policy), .text(name)])
        }
    }

    package func queueEvents(_ name: String, after: Int64, limit: Int) throws(StoreError) -> [QueueEvent] {
        try read("reading the answers of queue \(name)") { tx in
            try tx.rows("SELECT * FROM queue_events WHERE queue = $1 AND id > $2 ORDER BY id LIMIT $3", [.text(name), .int(Int(after)), .int(limit)]).map { row in
                var answer = try Self.answer(row)
                answer.id = 0
                return QueueEvent(id: Int64(try row.int("id")), kind: QueueEvent.Kind(rawValue: try row.text("kind")) ?? .answer, answer: answer)
            }
        }
    }

    package func queueItems(_ name: String, from position: Int, limit: Int) throws(StoreError) -> [(position: Int, item: QueueItem)] {
        try read("reading queue \(name)") { tx in
            _ = try queue(tx, name)
            return try tx.rows("SELECT * FROM queue_items WHERE queue = $1 AND position >= $2 ORDER BY position LIMIT $3",
                               [.text(name), .int(position), .int(limit)]).map { (position: try $0.int("position"), item: try Self.item($0)) }
        }
    }

    package func annotatorContext(_ name: String, annotator: String, recent: Int) throws(StoreError) -> [QueueAnswer] {
        try read("reading answers of queue \(name)") { tx in
            _ = try queue(tx, name)
            let select = "SELECT a.id, a.path, a.annotator, a.answer, a.seconds, a.created, a.held, (q.gold IS NOT NULL) AS is_gold, q.gold AS gold_answer FROM queue_answers a JOIN queue_items q ON q.queue = a.queue AND q.path = a.path"
            return try tx.rows("""
                \(select) WHERE a.queue = $1 AND a.path IN (SELECT path FROM queue_answers WHERE queue = $1 AND annotator = $2)
                UNION \(select) WHERE a.id IN (SELECT id FROM queue_answers WHERE queue = $1 ORDER BY id DESC LIMIT $3)
                ORDER BY created, id
                """, [.text(name), .text(annotator), .int(recent)]).map(Self.answer)
        }
    }

    package func recordDecision(_ name: String, _ decision: QueueDecision) throws(StoreError) -> QueueDecision? {
        try QueueRules.checkAnnotator(decision.annotator)
        return try write("recording a decision in queue \(name)") { tx -> QueueDecision? in
            let q = try queue(tx, name, lock: true)
            var blocked = q.spec.blocked
            let latest = try tx.row("SELECT action FROM queue_decisions WHERE queue = $1 AND annotator = $2 ORDER BY id DESC LIMIT 1",
                                    [.text(name), .text(decision.annotator)]).flatMap { QueueDecision.Action(rawValue: try $0.text("action")) }
            guard QueueRules.changes(decision.action, blocked: blocked.contains(decision.annotator), latest: latest) else { return nil }
            switch decision.action {
            case .block:
                blocked.append(decision.annotator)
                try tx.execute("UPDATE queue_answers SET held = 1 WHERE queue = $1 AND annotator = $2", [.text(name), .text(decision.annotator)])
                try tx.execute("DELETE FROM queue_leases WHERE queue = $1 AND annotator = $2", [.text(name), .text(decision.annotator)])
            case .unblock:
                blocked.removeAll { $0 == decision.annotator }
                try tx.execute("UPDATE queue_answers SET held = 0 WHERE queue = $1 AND annotator = $2", [.text(name), .text(decision.annotator)])
            case .review, .clear: break
            }
            if blocked != q.spec.blocked {
                try tx.execute("UPDATE queues SET blocked = $1 WHERE name = $2", [.text(blocked.isEmpty ? nil : blocked.joined(separator: ",")), .text(name)])
                try Self.notify(tx, name)   // items came back to others
            }
            guard let row = try tx.row("""
                INSERT INTO queue_decisions (queue, annotator, action, reason, evidence, by_whom, created) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id
                """, [.text(name), .text(decision.annotator), .text(decision.action.rawValue), .text(decision.reason), .text(QueueRules.evidenceText(decision.evidence)),
                      .text(decision.by), .double(decision.created.timeIntervalSince1970)]) else { return nil }
            var recorded = decision
            recorded.id = Int64(try row.int("id"))
            return recorded
        }
    }

    package func decisions(_ name: String, after: Int64) throws(StoreError) -> [QueueDecision] {
        try read("reading decisions of queue \(name)") { tx in
            _ = try queue(tx, name)
            return try tx.rows("SELECT * FROM queue_decisions WHERE queue = $1 AND id > $2 ORDER BY id", [.text(name), .int(Int(after))]).map { row in
                var d = QueueDecision(annotator: try row.text("annotator"), action: QueueDecision.Action(rawValue: try row.text("action")) ?? .review,
                                      reason: try row.text("reason"), evidence: QueueRules.evidence(try row.text("evidence")), by: try row.text("by_whom"),
                                      created: Date(timeIntervalSince1970: try row.double("created")))
                d.id = Int64(try row.int("id"))
                return d
            }
        }
    }

    package func setGoldRates(_ name: String, _ rates: [String: Double]) throws(StoreError) {
        for (who, rate) in rates { try QueueRules.checkRate(rate, who) }
        try write("setting gold rates in queue \(name)") { tx in
            _ = try queue(tx, name)
            for (who, rate) in rates.sorted(by: { $0.key < $1.key }) {
                try tx.execute("INSERT INTO queue_gold_rates (queue, annotator, rate) VALUES ($1, $2, $3) ON CONFLICT (queue, annotator) DO UPDATE SET rate = EXCLUDED.rate",
                               [.text(name), .text(who), .double(rate)])
            }
        }
    }
}
