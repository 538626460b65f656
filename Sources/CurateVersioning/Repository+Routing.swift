import Foundation
import GRDB

/// One routed item, as recorded.
public struct RouteRecord: Sendable, Equatable {
    public enum Decision: String, Sendable { case auto, human, audit, adjudication, secondOpinion = "second-opinion" }
    public var path: String
    public var decision: Decision
    /// The model's class (auto, audit, second opinion).
    public var predictedClass: String?
    public var confidence: Double?
    /// The queue the item went to (nil for auto-accepted items without audit).
    public var queue: String?

    public init(path: String, decision: Decision, predictedClass: String? = nil, confidence: Double? = nil, queue: String? = nil) {
        self.path = path
        self.decision = decision
        self.predictedClass = predictedClass
        self.confidence = confidence
        self.queue = queue
    }
}

/// What earlier routing runs left: decisions, retired validation items, suspended classes.
public struct RouteState: Sendable {
    public var runs: Int
    public var items: [String: RouteRecord]
    public var retired: Set<String>
    public var suspended: [String: String]
}

extension Repository {
    public func routeState() throws(VersioningError) -> RouteState {
        try read("reading the routing state") { db in
            let runs = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM route_runs") ?? 0
            var items: [String: RouteRecord] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT * FROM route_items") {
                let path: String = row["path"]
                items[path] = RouteRecord(path: path, decision: RouteRecord.Decision(rawValue: row["decision"]) ?? .human,
                                          predictedClass: row["class"], confidence: row["confidence"], queue: row["queue"])
            }
            let retired = Set(try String.fetchAll(db, sql: "SELECT path FROM route_retired"))
            let suspended = Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT class, reason FROM route_suspended").map { ($0["class"] as String, $0["reason"] as String) })
            return RouteState(runs: runs, items: items, retired: retired, suspended: suspended)
        }
    }

    /// Records a routing run in one transaction: its summary, the decisions, the retired validation items and the
    /// items added to queues (all or nothing). Returns the run's number.
    @discardableResult
    public func recordRoute(model: String, target: Double, summary: String, records: [RouteRecord], retire: [String],
                            queueItems: [(queue: String, items: [QueueItem])], now: Date = Date()) throws(VersioningError) -> Int {
        try write("recording a routing run") { db -> Int in
            for (queue, items) in queueItems where !items.isEmpty {
                let (_, closed) = try queueSpec(db, queue)
                guard !closed else { throw VersioningError(.invalid, "queue \(queue) is closed") }
                _ = try insertQueueItems(db, queue, items)
            }
            try db.execute(sql: "INSERT INTO route_runs (created, model, target, summary) VALUES (?, ?, ?, ?)",
                           arguments: [now.timeIntervalSince1970, model, target, summary])
            let run = Int(db.lastInsertedRowID)
            for r in records {
                try db.execute(sql: "INSERT OR REPLACE INTO route_items (path, run, decision, class, confidence, queue) VALUES (?, ?, ?, ?, ?, ?)",
                               arguments: [r.path, run, r.decision.rawValue, r.predictedClass, r.confidence, r.queue])
            }
            for path in retire { try db.execute(sql: "INSERT OR IGNORE INTO route_retired (path, run) VALUES (?, ?)", arguments: [path, run]) }
            return run
        }
    }

    /// Stops (or, with nil reason, resumes) auto-accepting a class.
    public func setRouteSuspended(_ className: String, reason: String?, now: Date = Date()) throws(VersioningError) {
        try write("suspending class \(className)") { db in
            if let reason {
                try db.execute(sql: "INSERT OR REPLACE INTO route_suspended (class, created, reason) VALUES (?, ?, ?)", arguments: [className, now.timeIntervalSince1970, reason])
            } else {
                try db.execute(sql: "DELETE FROM route_suspended WHERE class = ?", arguments: [className])
            }
        }
    }
}

extension Repository {
    /// The target accuracy of the latest routing run.
    public func lastRouteTarget() throws(VersioningError) -> Double {
        try read("reading routing runs") { db in try Double.fetchOne(db, sql: "SELECT target FROM route_runs ORDER BY id DESC LIMIT 1") ?? 0.95 }
    }
}
