import Crypto
import Foundation

/// One value of a stored row, as both stores can hold it.
package enum StoreValue: Sendable, Hashable {
    case null, int(Int64), double(Double), text(String)

    /// A canonical, type-tagged spelling: the same on both stores for the same value (doubles in their shortest
    /// round-tripping form).
    var canonical: String {
        switch self {
        case .null: return "∅"
        case .int(let v): return "i\(v)"
        case .double(let v): return "d\(v)"
        case .text(let v): return "t" + v.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\t", with: "\\t").replacingOccurrences(of: "\n", with: "\\n")
        }
    }
}

/// The whole labeling state, table by table, in `StoreSnapshot.tables`' column order: what `curate store migrate`
/// moves between stores and verifies by counts and checksums.
package struct StoreSnapshot: Sendable {
    /// The tables and columns every store has (answers' ids are SQLite's rowid; the PostgreSQL-only `lease` of an
    /// answer, kept for retries, is not moved; the event log is rebuilt by the target's triggers as answers load).
    package static let tables: [(name: String, columns: [String])] = [
        ("queues", ["name", "task", "overlap", "gold_rate", "lease_seconds", "instructions", "created", "closed", "annotators", "blocked", "policy"]),
        ("queue_items", ["queue", "path", "position", "gold", "suggestion", "overlap", "class", "excluded"]),
        ("queue_leases", ["queue", "path", "annotator", "expires", "token", "leased"]),
        ("queue_answers", ["id", "queue", "path", "annotator", "answer", "seconds", "created", "held"]),
        ("queue_late_answers", ["id", "queue", "path", "annotator", "answer", "seconds", "created", "lease"]),
        ("queue_skills", ["queue", "annotator", "class", "accuracy"]),
        ("queue_decisions", ["id", "queue", "annotator", "action", "reason", "evidence", "by_whom", "created"]),
        ("queue_gold_rates", ["queue", "annotator", "rate"]),
        ("route_runs", ["id", "created", "model", "target", "summary"]),
        ("route_items", ["path", "run", "decision", "class", "confidence", "queue"]),
        ("route_retired", ["path", "run"]),
        ("route_suspended", ["class", "created", "reason"]),
        ("workflow_runs", ["id", "workflow", "file", "params", "status", "token", "started", "finished", "end_rev", "message"]),
        ("workflow_steps", ["run", "step", "status", "key", "started", "finished", "outputs", "pid", "message", "process"]),
    ]

    package var rows: [String: [[StoreValue]]] = [:]

    package init() {}

    /// Per table: how many rows, and the SHA-256 of their canonical lines in sorted order (independent of the
    /// order either database returns them in).
    package var figures: [TableFigures] {
        Self.tables.map { table in
            let lines = (rows[table.name] ?? []).map { $0.map(\.canonical).joined(separator: "\t") }.sorted()
            var hash = SHA256()
            for line in lines { hash.update(data: Data((line + "\n").utf8)) }
            return TableFigures(table: table.name, rows: lines.count, checksum: hash.finalize().map { String(format: "%02x", $0) }.joined())
        }
    }

    /// Whether it holds anything at all.
    package var isEmpty: Bool { rows.values.allSatisfy(\.isEmpty) }
}

/// A table's row count and checksum.
package struct TableFigures: Sendable, Equatable, Codable {
    package var table: String
    package var rows: Int
    package var checksum: String

    package init(table: String, rows: Int, checksum: String) {
        self.table = table
        self.rows = rows
        self.checksum = checksum
    }
}

/// Moving the labeling state from one store to another.
package enum StoreMigration {
    package struct Outcome: Sendable {
        package var figures: [TableFigures]
        /// The target already held exactly this state (a rerun after the copy committed): nothing was written.
        package var alreadyThere: Bool
    }

    /// Copies everything from `source` into `target`, which must be empty (or already hold exactly the same
    /// state), and checks the copy's counts and checksums inside the target's transaction before it commits.
    /// - Throws: `.usage` when people hold live leases in the source or the target holds other state;
    ///   `.invalidData` when the copy does not match (nothing is kept).
    package static func copy(from source: any LabelingStore, to target: any LabelingStore, now: Date = Date()) throws(StoreError) -> Outcome {
        let snapshot = try source.snapshot()
        let live = (snapshot.rows["queue_leases"] ?? []).filter { if case .double(let expires) = $0[3] { return expires > now.timeIntervalSince1970 }; return false }.count
        guard live == 0 else {
            throw StoreError(.usage, "\(source.location): \(live) item\(live == 1 ? " is" : "s are") leased right now (people are labeling); move the state when the sessions have ended or their leases expired")
        }
        let existing = try target.snapshot()
        if !existing.isEmpty {
            if existing.figures == snapshot.figures { return Outcome(figures: snapshot.figures, alreadyThere: true) }
            let queues = existing.rows["queues"]?.count ?? 0, answers = existing.rows["queue_answers"]?.count ?? 0
            throw StoreError(.usage, "\(target.location) already holds labeling state (\(queues) queues, \(answers) answers); move into an empty store only")
        }
        try target.load(snapshot, expecting: snapshot.figures)
        return Outcome(figures: snapshot.figures, alreadyThere: false)
    }

    /// The first table whose copy differs, as an error naming it.
    package static func check(_ loaded: [TableFigures], against expected: [TableFigures], location: String) throws(StoreError) {
        for (a, b) in zip(loaded, expected) where a != b {
            throw StoreError(.invalidData, "\(location): table \(a.table) read back \(a.rows) rows (checksum \(a.checksum.prefix(12))) after \(b.rows) were written (checksum \(b.checksum.prefix(12))); nothing was kept")
        }
    }
}
