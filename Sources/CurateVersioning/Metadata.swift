import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#endif

/// The SQLite metadata database (`.curate/metadata.sqlite`, WAL mode through a GRDB `DatabasePool`):
/// readers never block the one writer. See FORMAT.md for the tables.
enum Metadata {
    /// Version of the on-disk layout: the number of the latest migration (`vN …`), so every layout change — which
    /// always comes with a migration — moves it. Written to `.curate/FORMAT`; a newer one is refused.
    /// History: 1 (shipped; migrations v1–v5, packs without indexes); 7 (v6 process identity, v7 lease tokens,
    /// pack indexes and the ref log); 8 (labeling state in `labeling.sqlite`, CurateStore's). Versions 2–6 were
    /// never written.
    static let formatVersion = 8

    /// What a lost or emptied database costs, and the way back.
    static func missingMessage(_ path: String, _ what: String) -> String {
        "\(path): metadata \(what); the objects in .curate/packs and .curate/objects are intact: run curate fsck --rebuild to recover the history (nothing was changed)"
    }

    /// Opens (or, with `creating`, creates) the database and brings its tables up to date.
    ///
    /// An existing repository's database must be there, non-empty, and hold the repository's tables: an empty or
    /// foreign file is never taken for a new repository (which `gc` would then empty of its history).
    static func open(_ path: String, creating: Bool = false) throws(VersioningError) -> DatabasePool {
        if !creating {
            var st = stat()
            guard stat(path, &st) == 0 else { throw VersioningError(.corrupt, missingMessage(path, "is missing")) }
            guard st.st_size > 0 else { throw VersioningError(.corrupt, missingMessage(path, "is empty")) }
        }
        let pool: DatabasePool
        do {
            var config = Configuration()
            config.busyMode = .timeout(10)
            config.prepareDatabase { db in
                // Commits must survive power loss once they return.
                try db.execute(sql: "PRAGMA synchronous = FULL")
                // Read the database through mmap: status reads every row of the stat cache.
                try db.execute(sql: "PRAGMA mmap_size = 1073741824")
            }
            pool = try DatabasePool(path: path, configuration: config)
        } catch {
            throw databaseError(error, path: path, "cannot open the metadata database")
        }
        do {
            if !creating {
                let intact = try pool.read { db -> Bool in
                    let tables = Set(try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'"))
                    guard tables.isSuperset(of: ["meta", "grdb_migrations", "refs", "commits", "objects"]) else { return false }
                    return try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'format_version'") != nil
                }
                guard intact else {
                    try? pool.close()
                    throw VersioningError(.corrupt, missingMessage(path, "lacks the repository's tables"))
                }
            }
            if !creating, try pool.read({ db in try migrator.hasBeenSuperseded(db) }) {
                try? pool.close()
                throw VersioningError(.invalid, "\(path) was written by a newer curate (it has migrations this one does not know); upgrade curate")
            }
            try migrator.migrate(pool)
            return pool
        } catch {
            try? pool.close()
            throw databaseError(error, path: path, "cannot open the metadata database")
        }
    }

    /// A database failure as a one-line message naming the file: damage (exit 65) told apart from a full disk or
    /// an I/O error (exit 1).
    static func databaseError(_ error: any Error, path: String, _ what: String) -> VersioningError {
        if let e = error as? VersioningError { return e }
        guard let e = error as? DatabaseError else { return VersioningError(.io, "\(path): \(what): \(error)") }
        switch e.resultCode {
        case .SQLITE_CORRUPT, .SQLITE_NOTADB:
            return VersioningError(.corrupt, "\(path): the metadata database is damaged (\(e.message ?? "malformed")); the objects are intact: run curate fsck --rebuild")
        case .SQLITE_FULL:
            return VersioningError(.io, "\(path): \(what): the disk is full; free space and retry (nothing was changed)")
        case .SQLITE_IOERR:
            return VersioningError(.io, "\(path): \(what): disk I/O error (is the disk full or failing?)")
        case .SQLITE_READONLY, .SQLITE_PERM, .SQLITE_CANTOPEN, .SQLITE_AUTH:
            return VersioningError(.io, "\(path): \(what): cannot open or write it (\(e.message ?? "permission denied")); check permissions")
        default:
            return VersioningError(.io, "\(path): \(what): \(e.message ?? "\(error)")")
        }
    }

    /// The tables migrations v3–v7 made for labeling state, which format 8 keeps in `labeling.sqlite`.
    static let labelingTables = ["queues", "queue_items", "queue_leases", "queue_answers", "queue_skills", "route_runs", "route_items",
                                 "route_retired", "route_suspended", "workflow_runs", "workflow_steps"]

    /// Migrations are frozen once shipped: never edit one, add the next (GRDB "Good Practices").
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
                CREATE TABLE refs (name TEXT PRIMARY KEY NOT NULL, commit_id TEXT NOT NULL);
                CREATE TABLE commits (
                    id TEXT PRIMARY KEY NOT NULL, parent TEXT, tree TEXT NOT NULL, schema TEXT,
                    author TEXT NOT NULL, date REAL NOT NULL, message TEXT NOT NULL, seq INTEGER NOT NULL, stats TEXT);
                CREATE TABLE objects (hash TEXT PRIMARY KEY NOT NULL, pack TEXT, offset INTEGER, length INTEGER NOT NULL) WITHOUT ROWID;
                CREATE TABLE roots (path TEXT PRIMARY KEY NOT NULL);
                CREATE TABLE files (
                    path TEXT PRIMARY KEY NOT NULL, size INTEGER NOT NULL, mtime INTEGER NOT NULL, inode INTEGER NOT NULL,
                    hash TEXT NOT NULL, width INTEGER, height INTEGER, committed TEXT) WITHOUT ROWID;
                CREATE TABLE labels (path TEXT PRIMARY KEY NOT NULL, hash TEXT, committed TEXT) WITHOUT ROWID;
                CREATE TABLE label_bodies (hash TEXT PRIMARY KEY NOT NULL, body BLOB NOT NULL);
                CREATE TABLE label_classes (hash TEXT PRIMARY KEY NOT NULL, classes TEXT NOT NULL) WITHOUT ROWID;
                CREATE TABLE trees (path TEXT PRIMARY KEY NOT NULL, hash TEXT NOT NULL);
                """)
            try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('format_version', ?)", arguments: ["1"])
        }
        migrator.registerMigration("v2 item tags") { db in
            // Item tags (triage clusters, "redundant", "ood", …): repository metadata beside the refs, not part of
            // commits, so tagging never changes a version.
            try db.execute(sql: "CREATE TABLE item_tags (tag TEXT NOT NULL, path TEXT NOT NULL, PRIMARY KEY (tag, path)) WITHOUT ROWID")
        }
        migrator.registerMigration("v3 queues") { db in
            // Labeling queues: items, leases and answers (each answer its own transaction), outside commits.
            try db.execute(sql: """
                CREATE TABLE queues (name TEXT PRIMARY KEY NOT NULL, task TEXT NOT NULL, overlap INTEGER NOT NULL, gold_rate REAL NOT NULL,
                    lease_seconds REAL NOT NULL, instructions TEXT NOT NULL, created REAL NOT NULL, closed REAL);
                CREATE TABLE queue_items (queue TEXT NOT NULL, path TEXT NOT NULL, position INTEGER NOT NULL, gold TEXT, suggestion TEXT,
                    PRIMARY KEY (queue, path)) WITHOUT ROWID;
                CREATE INDEX queue_items_order ON queue_items (queue, position);
                CREATE TABLE queue_leases (queue TEXT NOT NULL, path TEXT NOT NULL, annotator TEXT NOT NULL, expires REAL NOT NULL,
                    PRIMARY KEY (queue, path, annotator)) WITHOUT ROWID;
                CREATE TABLE queue_answers (queue TEXT NOT NULL, path TEXT NOT NULL, annotator TEXT NOT NULL, answer TEXT NOT NULL,
                    seconds REAL NOT NULL, created REAL NOT NULL, PRIMARY KEY (queue, path, annotator));
                """)
        }
        migrator.registerMigration("v4 routing") { db in
            // Routing: per-item overlap, predicted class and an excluded annotator on queue items; who may work a
            // queue (experts) and who may not (likely spam); annotators' accuracy per class; and the routing
            // state (decisions, retired validation items, classes suspended by audits).
            try db.execute(sql: """
                ALTER TABLE queue_items ADD COLUMN overlap INTEGER;
                ALTER TABLE queue_items ADD COLUMN class TEXT;
                ALTER TABLE queue_items ADD COLUMN excluded TEXT;
                ALTER TABLE queues ADD COLUMN annotators TEXT;
                ALTER TABLE queues ADD COLUMN blocked TEXT;
                CREATE TABLE queue_skills (queue TEXT NOT NULL, annotator TEXT NOT NULL, class TEXT NOT NULL, accuracy REAL NOT NULL,
                    PRIMARY KEY (queue, annotator, class)) WITHOUT ROWID;
                CREATE TABLE route_runs (id INTEGER PRIMARY KEY, created REAL NOT NULL, model TEXT NOT NULL, target REAL NOT NULL, summary TEXT NOT NULL);
                CREATE TABLE route_items (path TEXT PRIMARY KEY NOT NULL, run INTEGER NOT NULL, decision TEXT NOT NULL, class TEXT,
                    confidence REAL, queue TEXT) WITHOUT ROWID;
                CREATE TABLE route_retired (path TEXT PRIMARY KEY NOT NULL, run INTEGER NOT NULL) WITHOUT ROWID;
                CREATE TABLE route_suspended (class TEXT PRIMARY KEY NOT NULL, created REAL NOT NULL, reason TEXT NOT NULL) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v5 workflow runs") { db in
            // Workflow runs: each step's cache key, outputs (path → content hash), process and outcome, so that a
            // rerun skips what has not changed and --resume continues a paused or killed run.
            try db.execute(sql: """
                CREATE TABLE workflow_runs (id INTEGER PRIMARY KEY, workflow TEXT NOT NULL, file TEXT NOT NULL, params TEXT NOT NULL,
                    status TEXT NOT NULL, token TEXT NOT NULL, started REAL NOT NULL, finished REAL, end_rev TEXT, message TEXT);
                CREATE TABLE workflow_steps (run INTEGER NOT NULL, step TEXT NOT NULL, status TEXT NOT NULL, key TEXT NOT NULL,
                    started REAL NOT NULL, finished REAL, outputs TEXT, pid INTEGER, message TEXT, PRIMARY KEY (run, step));
                """)
        }
        migrator.registerMigration("v6 workflow process identity") { db in
            // Who a step's process is (boot id and start time from /proc), so a resumed run never signals a
            // process that merely reused the pid.
            try db.execute(sql: "ALTER TABLE workflow_steps ADD COLUMN process TEXT")
        }
        migrator.registerMigration("v7 lease tokens") { db in
            // Each lease has a token; an answer must present it, so scripts keep the queue's rules as sessions do.
            try db.execute(sql: "ALTER TABLE queue_leases ADD COLUMN token TEXT")
        }
        migrator.registerMigration("v8 labeling state moves out") { db in
            // Queues, answers, routing and workflow runs now live in .curate/labeling.sqlite (CurateStore), which
            // copies these tables when it is first created. Empty ones (every new repository) are dropped here;
            // a format-7 repository's are kept, unread after the copy, so no answer is ever lost in between.
            let tables = Self.labelingTables
            var rows = 0
            for table in tables { rows += try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0 }
            if rows == 0 { for table in tables { try db.execute(sql: "DROP TABLE \(table)") } }
        }
        return migrator
    }
}

extension VersioningError {
    /// Wraps a database error.
    static func database(_ error: any Error, _ what: String) -> VersioningError {
        Metadata.databaseError(error, path: ".curate/metadata.sqlite", what)
    }
}
