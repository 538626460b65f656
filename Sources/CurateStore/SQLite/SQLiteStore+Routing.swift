import Foundation
import GRDB

/// A row of `route_runs`.
struct RouteRunRow: Codable, FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "route_runs"
    var id: Int64?
    var created: Double
    var model: String
    var target: Double
    var summary: String

    mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

extension SQLiteStore {
    package func routeState() throws(StoreError) -> RouteState {
        try read("reading the routing state") { db in
            let runs = try RouteRunRow.fetchCount(db)
            let last = try RouteRunRow.order(Column("id").desc).fetchOne(db)
            var items: [String: RouteRecord] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT * FROM route_items") {
                let path: String = row["path"]
                items[path] = RouteRecord(path: path, decision: RouteRecord.Decision(rawValue: row["decision"]) ?? .human,
                                          predictedClass: row["class"], confidence: row["confidence"], queue: row["queue"])
            }
            let retired = Set(try String.fetchAll(db, sql: "SELECT path FROM route_retired"))
            let suspended = Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT class, reason FROM route_suspended").map { ($0["class"] as String, $0["reason"] as String) })
            return RouteState(runs: runs, lastTarget: last?.target, items: items, retired: retired, suspended: suspended)
        }
    }

    @discardableResult
    package func recordRoute(_ run: RouteRun, now: Date) throws(StoreError) -> Int {
        try write("recording a routing run") { db -> Int in
            for batch in run.queued where !batch.items.isEmpty {
                guard try queue(db, batch.queue).closed == nil else { throw QueueRules.closed(batch.queue) }
                _ = try insertItems(db, batch.queue, batch.items)
            }
            var row = RouteRunRow(id: nil, created: now.timeIntervalSince1970, model: run.model, target: run.target, summary: run.summary)
            try row.insert(db)
            let id = Int(row.id ?? 0)
            for r in run.records {
                try db.execute(sql: "INSERT OR REPLACE INTO route_items (path, run, decision, class, confidence, queue) VALUES (?, ?, ?, ?, ?, ?)",
                               arguments: [r.path, id, r.decision.rawValue, r.predictedClass, r.confidence, r.queue])
            }
            for path in run.retire { try db.execute(sql: "INSERT OR IGNORE INTO route_retired (path, run) VALUES (?, ?)", arguments: [path, id]) }
            return id
        }
    }

    package func setRouteSuspended(_ className: String, reason: String?, now: Date) throws(StoreError) {
        try write("suspending class \(className)") { db in
            if let reason {
                try db.execute(sql: "INSERT OR REPLACE INTO route_suspended (class, created, reason) VALUES (?, ?, ?)", arguments: [className, now.timeIntervalSince1970, reason])
            } else {
                try db.execute(sql: "DELETE FROM route_suspended WHERE class = ?", arguments: [className])
            }
        }
    }
}
