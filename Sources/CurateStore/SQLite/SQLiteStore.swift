import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#endif

/// The embedded labeling store: `.curate/labeling.sqlite`, a SQLite database in WAL mode (readers never block the
/// one writer; each answer is one durable transaction). Separate from the repository's `metadata.sqlite`, so a
/// commit never waits for an annotator and `fsck --rebuild` of the history never touches a queue. Tables are
/// listed in CurateVersioning's FORMAT.md.
package struct SQLiteStore: LabelingStore {
    /// The database file.
    package let path: String
    let pool: DatabasePool

    package var location: String { path }

    package func annotator(requested: String?) throws(StoreError) -> String {
        guard let requested else { throw StoreError(.usage, "say who is labeling: --annotator ID") }
        try QueueRules.checkAnnotator(requested)
        return requested
    }

    /// The version of this store's schema: the number of its latest migration. A newer one is refused.
    package static let schemaVersion = 5

    /// Opens the store of the repository whose `.curate` folder is `curateDirectory`, creating it on first use.
    /// A repository of format 7 or older kept its labeling state in `metadata.sqlite`; it is copied here when the
    /// store is created (the old tables are left as they were, unread).
    package static func open(curateDirectory: String) throws(StoreError) -> SQLiteStore {
        let path = curateDirectory + "/labeling.sqlite"
        if access(path, F_OK) != 0 { try create(path, legacy: curateDirectory + "/metadata.sqlite") }
        let pool: DatabasePool
        do { pool = try DatabasePool(path: path, configuration: configuration) } catch { throw databaseError(error, path: path, "cannot open the labeling database") }
        do {
            let known = try pool.read { db in try db.tableExists("grdb_migrations") }
            guard known else {
                try? pool.close()
                throw StoreError(.invalidData, "\(path): not a Curate labeling database (its tables are missing); move it aside to start an empty one")
            }
            if try pool.read({ db in try migrator.hasBeenSuperseded(db) }) {
                try? pool.close()
                throw StoreError(.invalidData, "\(path) was written by a newer curate (it has migrations this one does not know); upgrade curate")
            }
            try migrator.migrate(pool)
        } catch {
            try? pool.close()
            throw databaseError(error, path: path, "cannot open the labeling database")
        }
        return SQLiteStore(path: path, pool: pool)
    }

    static var configuration: Configuration {
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            // An answer must survive power loss once it is acknowledged.
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        return config
    }

    /// Builds the database under a temporary name — schema, then the state imported from a format-7
    /// `metadata.sqlite` — and links it into place: a half-made store never exists, and of two processes creating
    /// it at once, one wins and the other opens the winner's.
    static func create(_ path: String, legacy: String) throws(StoreError) {
        let staging = path + ".new-\(getpid())-\(QueueRules.newToken().prefix(8))"
        defer { for suffix in ["", "-wal", "-shm", "-journal"] { unlink(staging + suffix) } }
        do {
            let queue = try DatabaseQueue(path: staging, configuration: configuration)
            try queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = WAL") }
            try migrator.migrate(queue)
            if access(legacy, R_OK) == 0 { try importLegacy(queue, from: legacy) }
            try queue.close()
        } catch {
            throw databaseError(error, path: path, "cannot create the labeling database")
        }
        if link(staging, path) != 0 && errno != EEXIST {
            throw StoreError(.internal, "\(path): cannot create it: \(String(cString: strerror(errno)))")
        }
        let folder = (path as NSString).deletingLastPathComponent
        let fd = Glibc.open(folder, O_RDONLY | O_DIRECTORY)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    /// The tables formats up to 7 kept in `metadata.sqlite`, with the columns they had at format 7.
    static let legacyTables: [(table: String, columns: String)] = [
        ("queues", "name, task, overlap, gold_rate, lease_seconds, instructions, created, closed, annotators, blocked"),
        ("queue_items", "queue, path, position, gold, suggestion, overlap, class, excluded"),
        ("queue_leases", "queue, path, annotator, expires, token"),
        ("queue_answers", "rowid, queue, path, annotator, answer, seconds, created"),
        ("queue_skills", "queue, annotator, class, accuracy"),
        ("route_runs", "id, created, model, target, summary"),
        ("route_items", "path, run, decision, class, confidence, queue"),
        ("route_retired", "path, run"),
        ("route_suspended", "class, created, reason"),
        ("workflow_runs", "id, workflow, file, params, status, token, started, finished, end_rev, message"),
        ("workflow_steps", "run, step, status, key, started, finished, outputs, pid, message, process"),
    ]

    /// Copies a format-7 repository's labeling state, in one transaction.
    static func importLegacy(_ queue: DatabaseQueue, from legacy: String) throws {
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: "ATTACH DATABASE ? AS legacy", arguments: [legacy])
            defer { try? db.execute(sql: "DETACH DATABASE legacy") }
            let present = Set(try String.fetchAll(db, sql: "SELECT name FROM legacy.sqlite_master WHERE type = 'table'"))
            let tables = legacyTables.filter { present.contains($0.table) }
            guard !tables.isEmpty else { return }
            try db.inTransaction {
                for (table, columns) in tables {
                    try db.execute(sql: "INSERT INTO main.\(table) (\(columns)) SELECT \(columns) FROM legacy.\(table)")
                }
                try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('imported', ?)",
                               arguments: ["metadata.sqlite (format 7 or older) at " + ISO8601DateFormatter().string(from: Date())])
                return .commit
            }
        }
    }

    /// Migrations are frozen once shipped: never edit one, add the next, and bump `schemaVersion`.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            // The labeling state as format 7 of metadata.sqlite had it (migrations v3–v7 there), in its own file.
            try db.execute(sql: """
                CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
                CREATE TABLE queues (name TEXT PRIMARY KEY NOT NULL, task TEXT NOT NULL, overlap INTEGER NOT NULL, gold_rate REAL NOT NULL,
                    lease_seconds REAL NOT NULL, instructions TEXT NOT NULL, created REAL NOT NULL, closed REAL, annotators TEXT, blocked TEXT);
                CREATE TABLE queue_items (queue TEXT NOT NULL, path TEXT NOT NULL, position INTEGER NOT NULL, gold TEXT, suggestion TEXT,
                    overlap INTEGER, class TEXT, excluded TEXT, PRIMARY KEY (queue, path)) WITHOUT ROWID;
                CREATE INDEX queue_items_order ON queue_items (queue, position);
                CREATE TABLE queue_leases (queue TEXT NOT NULL, path TEXT NOT NULL, annotator TEXT NOT NULL, expires REAL NOT NULL, token TEXT,
                    PRIMARY KEY (queue, path, annotator)) WITHOUT ROWID;
                CREATE TABLE queue_answers (queue TEXT NOT NULL, path TEXT NOT NULL, annotator TEXT NOT NULL, answer TEXT NOT NULL,
                    seconds REAL NOT NULL, created REAL NOT NULL, PRIMARY KEY (queue, path, annotator));
                CREATE TABLE queue_skills (queue TEXT NOT NULL, annotator TEXT NOT NULL, class TEXT NOT NULL, accuracy REAL NOT NULL,
                    PRIMARY KEY (queue, annotator, class)) WITHOUT ROWID;
                CREATE TABLE route_runs (id INTEGER PRIMARY KEY, created REAL NOT NULL, model TEXT NOT NULL, target REAL NOT NULL, summary TEXT NOT NULL);
                CREATE TABLE route_items (path TEXT PRIMARY KEY NOT NULL, run INTEGER NOT NULL, decision TEXT NOT NULL, class TEXT,
                    confidence REAL, queue TEXT) WITHOUT ROWID;
                CREATE TABLE route_retired (path TEXT PRIMARY KEY NOT NULL, run INTEGER NOT NULL) WITHOUT ROWID;
                CREATE TABLE route_suspended (class TEXT PRIMARY KEY NOT NULL, created REAL NOT NULL, reason TEXT NOT NULL) WITHOUT ROWID;
                CREATE TABLE workflow_runs (id INTEGER PRIMARY KEY, workflow TEXT NOT NULL, file TEXT NOT NULL, params TEXT NOT NULL,
                    status TEXT NOT NULL, token TEXT NOT NULL, started REAL NOT NULL, finished REAL, end_rev TEXT, message TEXT);
                CREATE TABLE workflow_steps (run INTEGER NOT NULL, step TEXT NOT NULL, status TEXT NOT NULL, key TEXT NOT NULL,
                    started REAL NOT NULL, finished REAL, outputs TEXT, pid INTEGER, message TEXT, process TEXT, PRIMARY KEY (run, step));
                """)
            try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('created', ?)", arguments: [ISO8601DateFormatter().string(from: Date())])
        }
        migrator.registerMigration("v2 late answers") { db in
            // Answers whose lease expired after the item got its answers elsewhere: kept, never counted.
            try db.execute(sql: """
                CREATE TABLE queue_late_answers (id INTEGER PRIMARY KEY, queue TEXT NOT NULL, path TEXT NOT NULL, annotator TEXT NOT NULL,
                    answer TEXT NOT NULL, seconds REAL NOT NULL, created REAL NOT NULL, lease TEXT)
                """)
        }
        migrator.registerMigration("v3 lease start") { db in
            // When a lease was taken (renewals keep it), for the lead's view of who holds what for how long.
            try db.execute(sql: "ALTER TABLE queue_leases ADD COLUMN leased REAL")
        }
        migrator.registerMigration("v4 answer counts") { db in
            // Each item counts its answers (triggers keep it): leasing walks the index of open items instead of
            // probing every answered one.
            try db.execute(sql: """
                ALTER TABLE queue_items ADD COLUMN answers INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE queue_items ADD COLUMN done INTEGER NOT NULL DEFAULT 0;
                UPDATE queue_items SET answers = (SELECT COUNT(*) FROM queue_answers a WHERE a.queue = queue_items.queue AND a.path = queue_items.path);
                UPDATE queue_items SET done = (gold IS NULL AND answers >= COALESCE(overlap, (SELECT overlap FROM queues WHERE name = queue_items.queue)));
                CREATE INDEX queue_items_open ON queue_items (queue, position) WHERE done = 0;
                CREATE TRIGGER queue_answers_added AFTER INSERT ON queue_answers BEGIN
                  UPDATE queue_items SET answers = answers + 1,
                    done = (gold IS NULL AND answers + 1 >= COALESCE(overlap, (SELECT overlap FROM queues WHERE name = NEW.queue)))
                  WHERE queue = NEW.queue AND path = NEW.path;
                END;
                CREATE TRIGGER queue_answers_removed AFTER DELETE ON queue_answers BEGIN
                  UPDATE queue_items SET answers = answers - 1,
                    done = (gold IS NULL AND answers - 1 >= COALESCE(overlap, (SELECT overlap FROM queues WHERE name = OLD.queue)))
                  WHERE queue = OLD.queue AND path = OLD.path;
                END;
                """)
        }
        migrator.registerMigration("v5 vetting") { db in
            // Live vetting: a queue's policy; answers held (kept, not counted) while their annotator is blocked;
            // an event log a lead's view follows incrementally; decisions with their evidence; adaptive gold rates.
            try db.execute(sql: """
                ALTER TABLE queues ADD COLUMN policy TEXT;
                ALTER TABLE queue_answers ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
                CREATE INDEX queue_answers_by_annotator ON queue_answers (queue, annotator);
                CREATE TABLE queue_events (id INTEGER PRIMARY KEY AUTOINCREMENT, queue TEXT NOT NULL, kind TEXT NOT NULL, path TEXT NOT NULL,
                    annotator TEXT NOT NULL, answer TEXT NOT NULL, seconds REAL NOT NULL, created REAL NOT NULL, held INTEGER NOT NULL DEFAULT 0);
                CREATE INDEX queue_events_by_queue ON queue_events (queue, id);
                INSERT INTO queue_events (queue, kind, path, annotator, answer, seconds, created)
                    SELECT queue, 'answer', path, annotator, answer, seconds, created FROM queue_answers ORDER BY created, rowid;
                CREATE TABLE queue_decisions (id INTEGER PRIMARY KEY AUTOINCREMENT, queue TEXT NOT NULL, annotator TEXT NOT NULL, action TEXT NOT NULL,
                    reason TEXT NOT NULL, evidence TEXT NOT NULL, by_whom TEXT NOT NULL, created REAL NOT NULL);
                CREATE INDEX queue_decisions_by_queue ON queue_decisions (queue, id);
                CREATE TABLE queue_gold_rates (queue TEXT NOT NULL, annotator TEXT NOT NULL, rate REAL NOT NULL, PRIMARY KEY (queue, annotator)) WITHOUT ROWID;
                DROP TRIGGER queue_answers_added;
                DROP TRIGGER queue_answers_removed;
                CREATE TRIGGER queue_answers_added AFTER INSERT ON queue_answers BEGIN
                  UPDATE queue_items SET answers = answers + 1 - NEW.held,
                    done = (gold IS NULL AND answers + 1 - NEW.held >= COALESCE(overlap, (SELECT overlap FROM queues WHERE name = NEW.queue)))
                  WHERE queue = NEW.queue AND path = NEW.path;
                  INSERT INTO queue_events (queue, kind, path, annotator, answer, seconds, created, held)
                    VALUES (NEW.queue, 'answer', NEW.path, NEW.annotator, NEW.answer, NEW.seconds, NEW.created, NEW.held);
                END;
                CREATE TRIGGER queue_answers_removed AFTER DELETE ON queue_answers BEGIN
                  UPDATE queue_items SET answers = answers - 1 + OLD.held,
                    done = (gold IS NULL AND answers - 1 + OLD.held >= COALESCE(overlap, (SELECT overlap FROM queues WHERE name = OLD.queue)))
                  WHERE queue = OLD.queue AND path = OLD.path;
                  INSERT INTO queue_events (queue, kind, path, annotator, answer, seconds, created, held)
                    VALUES (OLD.queue, 'undo', OLD.path, OLD.annotator, OLD.answer, OLD.seconds, OLD.created, OLD.held);
                END;
                CREATE TRIGGER queue_answers_held AFTER UPDATE OF held ON queue_answers WHEN NEW.held <> OLD.held BEGIN
                  UPDATE queue_items SET answers = answers + OLD.held - NEW.held,
                    done = (gold IS NULL AND answers + OLD.held - NEW.held >= COALESCE(overlap, (SELECT overlap FROM queues WHERE name = NEW.queue)))
                  WHERE queue = NEW.queue AND path = NEW.path;
                END;
                """)
        }
        return migrator
    }

    /// A database failure as a one-line message naming the file: damage told apart from a full disk, a busy
    /// writer or a permission problem.
    static func databaseError(_ error: any Error, path: String, _ what: String) -> StoreError {
        if let e = error as? StoreError { return e }
        guard let e = error as? DatabaseError else { return StoreError(.internal, "\(path): \(what): \(error)") }
        switch e.resultCode {
        case .SQLITE_CORRUPT, .SQLITE_NOTADB:
            return StoreError(.invalidData, "\(path): the labeling database is damaged (\(e.message ?? "malformed")); restore it from a backup or move it aside (the repository's history is not in it)")
        case .SQLITE_FULL:
            return StoreError(.internal, "\(path): \(what): the disk is full; free space and retry (nothing was changed)")
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return StoreError(.locked, "\(path): \(what): another process kept the database busy; retry")
        case .SQLITE_READONLY, .SQLITE_PERM, .SQLITE_CANTOPEN, .SQLITE_AUTH:
            return StoreError(.unreadable, "\(path): \(what): cannot open or write it (\(e.message ?? "permission denied")); check permissions")
        default:
            return StoreError(.internal, "\(path): \(what): \(e.message ?? "\(error)")")
        }
    }

    func read<T>(_ what: String, _ body: (Database) throws -> T) throws(StoreError) -> T {
        do { return try pool.read(body) } catch { throw Self.databaseError(error, path: path, what) }
    }

    func write<T>(_ what: String, _ body: (Database) throws -> T) throws(StoreError) -> T {
        do { return try pool.write(body) } catch { throw Self.databaseError(error, path: path, what) }
    }
}

/// Opening the labeling store a repository uses: `CURATE_STORE` when set, else the URL `curate store set` wrote to
/// `.curate/store`, else the embedded `SQLiteStore`.
package enum LabelingStores {
    /// The file that names a repository's shared store (one line: a `postgres://` URL without a password).
    package static func configFile(_ curateDirectory: String) -> String { curateDirectory + "/store" }

    /// The store URL configured for the repository (nil: the embedded SQLite store).
    package static func configured(curateDirectory: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let url = environment["CURATE_STORE"], !url.isEmpty { return url == "sqlite" ? nil : url }
        let text = (try? String(contentsOfFile: configFile(curateDirectory), encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        return text?.isEmpty == false ? text : nil
    }

    package static func open(curateDirectory: String, onReconnect: @escaping @Sendable (Int) -> Void = { _ in }) throws(StoreError) -> any LabelingStore {
        guard let url = configured(curateDirectory: curateDirectory) else { return try SQLiteStore.open(curateDirectory: curateDirectory) }
        return try PostgresStore(try PostgresLocation(url: url), onReconnect: onReconnect)
    }

    /// Records `url` as the repository's store (nil: back to the embedded one). A password is refused: it would
    /// sit in the repository; give it with PGPASSWORD or ~/.pgpass.
    package static func set(_ url: String?, curateDirectory: String) throws(StoreError) {
        let path = configFile(curateDirectory)
        guard let url else { unlink(path); return }
        _ = try PostgresLocation(url: url, environment: [:])   // a URL Curate can use
        if URLComponents(string: url)?.password != nil {
            throw StoreError(.usage, "\(PostgresLocation.redacted(url)): a password would be kept in the repository; give it with PGPASSWORD or ~/.pgpass instead")
        }
        do { try Data((url + "\n").utf8).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw StoreError(.internal, "\(path): cannot write: \(error.localizedDescription)")
        }
    }
}
