import Foundation
import PostgresNIO

/// The labeling state in a PostgreSQL database, for a team on many machines: the same rules as `SQLiteStore`
/// (`QueueRules`, the same serving order), with leases claimed in one transaction (`FOR UPDATE SKIP LOCKED`, so
/// concurrent annotators never take the same slot) and answers fenced by their lease token. Schema made and
/// migrated by Curate (`PostgresStore.migrations`, table `curate_migrations`).
package final class PostgresStore: LabelingStore, @unchecked Sendable {   // state is in `session`, which locks
    let session: PostgresSession

    package var location: String { session.location.display }

    /// Connects and brings the schema up to date.
    /// - Throws: `.unavailable` naming the server when it cannot be reached or refuses the login.
    package init(_ location: PostgresLocation, onReconnect: @escaping @Sendable (Int) -> Void = { _ in }) throws(StoreError) {
        session = PostgresSession(location, onReconnect: onReconnect)
        try migrate()
    }

    /// Migrations are frozen once shipped: never edit one, add the next.
    static let migrations: [(id: String, sql: String)] = [
        ("v1", """
            CREATE TABLE queues (name text PRIMARY KEY, task text NOT NULL, overlap integer NOT NULL, gold_rate double precision NOT NULL,
                lease_seconds double precision NOT NULL, instructions text NOT NULL, created double precision NOT NULL, closed double precision,
                annotators text, blocked text);
            CREATE TABLE queue_items (queue text NOT NULL, path text NOT NULL, position bigint NOT NULL, gold text, suggestion text,
                overlap integer, class text, excluded text, PRIMARY KEY (queue, path));
            CREATE INDEX queue_items_order ON queue_items (queue, position);
            CREATE TABLE queue_leases (queue text NOT NULL, path text NOT NULL, annotator text NOT NULL, expires double precision NOT NULL,
                token text NOT NULL, PRIMARY KEY (queue, path, annotator));
            CREATE TABLE queue_answers (id bigserial PRIMARY KEY, queue text NOT NULL, path text NOT NULL, annotator text NOT NULL,
                answer text NOT NULL, seconds double precision NOT NULL, created double precision NOT NULL, lease text,
                UNIQUE (queue, path, annotator));
            CREATE INDEX queue_answers_by_annotator ON queue_answers (queue, annotator);
            CREATE TABLE queue_late_answers (id bigserial PRIMARY KEY, queue text NOT NULL, path text NOT NULL, annotator text NOT NULL,
                answer text NOT NULL, seconds double precision NOT NULL, created double precision NOT NULL, lease text);
            CREATE TABLE queue_skills (queue text NOT NULL, annotator text NOT NULL, class text NOT NULL, accuracy double precision NOT NULL,
                PRIMARY KEY (queue, annotator, class));
            CREATE TABLE route_runs (id bigserial PRIMARY KEY, created double precision NOT NULL, model text NOT NULL,
                target double precision NOT NULL, summary text NOT NULL);
            CREATE TABLE route_items (path text PRIMARY KEY, run bigint NOT NULL, decision text NOT NULL, class text,
                confidence double precision, queue text);
            CREATE TABLE route_retired (path text PRIMARY KEY, run bigint NOT NULL);
            CREATE TABLE route_suspended (class text PRIMARY KEY, created double precision NOT NULL, reason text NOT NULL);
            CREATE TABLE workflow_runs (id bigserial PRIMARY KEY, workflow text NOT NULL, file text NOT NULL, params text NOT NULL,
                status text NOT NULL, token text NOT NULL, started double precision NOT NULL, finished double precision, end_rev text, message text);
            CREATE TABLE workflow_steps (run bigint NOT NULL, step text NOT NULL, status text NOT NULL, key text NOT NULL,
                started double precision NOT NULL, finished double precision, outputs text, pid integer, message text, process text,
                PRIMARY KEY (run, step));
            """),
        // Identity: an annotator role (`curate store grant annotator`) sees and writes only its own answers, leases and
        // skills, answering as its login role; answer counts for the overlap come from a view run as the owner. Owners
        // (leads: `curate store grant lead`) are not bound by these policies.
        ("v2", """
            CREATE VIEW queue_answer_counts AS SELECT queue, path, COUNT(*) AS n FROM queue_answers GROUP BY queue, path;
            ALTER TABLE queue_answers ENABLE ROW LEVEL SECURITY;
            CREATE POLICY own_answers ON queue_answers USING (annotator = session_user) WITH CHECK (annotator = session_user);
            ALTER TABLE queue_late_answers ENABLE ROW LEVEL SECURITY;
            CREATE POLICY own_late_answers ON queue_late_answers USING (annotator = session_user) WITH CHECK (annotator = session_user);
            ALTER TABLE queue_leases ENABLE ROW LEVEL SECURITY;
            CREATE POLICY see_leases ON queue_leases FOR SELECT USING (true);
            CREATE POLICY take_own_leases ON queue_leases FOR INSERT WITH CHECK (annotator = session_user);
            CREATE POLICY renew_own_leases ON queue_leases FOR UPDATE USING (annotator = session_user) WITH CHECK (annotator = session_user);
            CREATE POLICY drop_own_leases ON queue_leases FOR DELETE USING (annotator = session_user);
            ALTER TABLE queue_items ENABLE ROW LEVEL SECURITY;
            CREATE POLICY see_items ON queue_items FOR SELECT USING (true);
            CREATE POLICY lock_items ON queue_items FOR UPDATE USING (true) WITH CHECK (false);
            ALTER TABLE queue_skills ENABLE ROW LEVEL SECURITY;
            CREATE POLICY own_skills ON queue_skills FOR SELECT USING (annotator = session_user)
            """),
        ("v3", "ALTER TABLE queue_leases ADD COLUMN leased double precision"),
        // Each item counts its answers, kept by a trigger that runs as the schema's owner (annotators may not change
        // items): leasing walks only the open items of a queue, in order, instead of probing every answered one.
        // Statements separated by `--;` lines (function bodies hold semicolons).
        ("v4", """
            ALTER TABLE queue_items ADD COLUMN answers integer NOT NULL DEFAULT 0
            --;
            ALTER TABLE queue_items ADD COLUMN done boolean NOT NULL DEFAULT false
            --;
            UPDATE queue_items i SET answers = c.n FROM queue_answer_counts c WHERE c.queue = i.queue AND c.path = i.path
            --;
            UPDATE queue_items i SET done = (i.gold IS NULL AND i.answers >= COALESCE(i.overlap, (SELECT overlap FROM queues WHERE name = i.queue)))
            --;
            CREATE INDEX queue_items_open ON queue_items (queue, position) WHERE NOT done
            --;
            CREATE FUNCTION curate_count_answers() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
            DECLARE
              r record;
              step integer;
            BEGIN
              IF TG_OP = 'INSERT' THEN r := NEW; step := 1; ELSE r := OLD; step := -1; END IF;
              UPDATE queue_items i SET answers = i.answers + step,
                done = (i.gold IS NULL AND i.answers + step >= COALESCE(i.overlap, (SELECT overlap FROM queues WHERE name = i.queue)))
              WHERE i.queue = r.queue AND i.path = r.path;
              RETURN r;
            END $$
            --;
            CREATE TRIGGER queue_answers_count AFTER INSERT OR DELETE ON queue_answers FOR EACH ROW EXECUTE FUNCTION curate_count_answers()
            """),
    ]

    /// Every object of the schema, for ownership and grants.
    static let tables = ["curate_migrations", "queues", "queue_items", "queue_leases", "queue_answers", "queue_late_answers", "queue_skills",
                         "route_runs", "route_items", "route_retired", "route_suspended", "workflow_runs", "workflow_steps", "queue_answer_counts"]
    static let sequences = ["queue_answers_id_seq", "queue_late_answers_id_seq", "route_runs_id_seq", "workflow_runs_id_seq"]

    func migrate() throws(StoreError) {
        try session.transaction("migrating the labeling schema") { tx in
            // One migrator at a time, across every machine.
            try tx.execute("SELECT pg_advisory_xact_lock(4242001)")
            if try tx.row("SELECT to_regclass('curate_migrations') IS NULL AS missing").map({ try $0["missing"].decode(Bool.self) }) ?? true {
                try tx.execute("CREATE TABLE curate_migrations (id text PRIMARY KEY, applied double precision NOT NULL)")
            }
            // Once leads are set up (`curate store grant lead`), what a lead creates belongs to the group.
            if try tx.int("""
                SELECT COUNT(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner
                WHERE c.oid = 'curate_migrations'::regclass AND r.rolname = 'curate_lead' AND pg_has_role(session_user, r.oid, 'MEMBER')
                """) > 0 {
                try tx.execute("SET LOCAL ROLE curate_lead")
            }
            let applied = Set(try tx.rows("SELECT id FROM curate_migrations").map { try $0.text("id") })
            let known = Set(Self.migrations.map(\.id))
            if let newer = applied.subtracting(known).sorted().first {
                throw StoreError(.invalidData, "\(session.location.display): the labeling schema has migration \(newer), from a newer curate; upgrade curate")
            }
            for (id, sql) in Self.migrations where !applied.contains(id) {
                let statements = sql.contains("\n--;\n") ? sql.components(separatedBy: "\n--;\n") : sql.components(separatedBy: ";")
                for statement in statements.map({ $0.trimmingCharacters(in: .whitespacesAndNewlines) }) where !statement.isEmpty {
                    try tx.execute(statement)
                }
                try tx.execute("INSERT INTO curate_migrations (id, applied) VALUES ($1, $2)", [.text(id), .double(Date().timeIntervalSince1970)])
            }
        }
    }

    @discardableResult
    func write<T>(_ what: String, _ body: (PostgresTransaction) throws -> T) throws(StoreError) -> T { try session.transaction(what, body) }
    @discardableResult
    func read<T>(_ what: String, _ body: (PostgresTransaction) throws -> T) throws(StoreError) -> T { try session.transaction(what, body) }
}

// MARK: Queues

extension PostgresStore {
    struct QueueRow {
        var spec: QueueSpec
        var closed: Bool
    }

    /// The queue's row (locked for update when `lock`), or the error naming the queues there are.
    func queue(_ tx: PostgresTransaction, _ name: String, lock: Bool = false) throws -> QueueRow {
        guard let row = try tx.row("SELECT * FROM queues WHERE name = $1" + (lock ? " FOR UPDATE" : ""), [.text(name)]) else {
            throw QueueRules.unknownQueue(name, known: try tx.rows("SELECT name FROM queues ORDER BY name").map { try $0.text("name") })
        }
        return try Self.queueRow(row)
    }

    /// A queue's settings from a row holding the `queues` columns.
    static func queueRow(_ row: PostgresRandomAccessRow) throws -> QueueRow {
        let list = { (text: String?) in text.map { $0.split(separator: ",").map(String.init) } }
        let spec = QueueSpec(name: try row.text("name"), task: QueueSpec.Task(rawValue: try row.text("task")) ?? .classify, overlap: try row.int("overlap"),
                             goldRate: try row.double("gold_rate"), leaseSeconds: try row.double("lease_seconds"), instructions: try row.text("instructions"),
                             annotators: list(try row.optionalText("annotators")), blocked: list(try row.optionalText("blocked")) ?? [])
        return QueueRow(spec: spec, closed: try row.optionalDouble("closed") != nil)
    }

    static func item(_ row: PostgresRandomAccessRow) throws -> QueueItem {
        QueueItem(path: try row.text("path"), gold: try row.optionalText("gold"), suggestion: try row.optionalText("suggestion"),
                  overlap: row.contains("overlap") ? try row.optionalInt("overlap") : nil, predictedClass: row.contains("class") ? try row.optionalText("class") : nil,
                  excluded: row.contains("excluded") ? try row.optionalText("excluded") : nil)
    }

    /// Appends items not already in the queue, after its last (the queue row is locked, so positions never clash).
    func insertItems(_ tx: PostgresTransaction, _ name: String, _ items: [QueueItem]) throws -> Int {
        var position = try tx.int("SELECT COALESCE(MAX(position), -1) + 1 FROM queue_items WHERE queue = $1", [.text(name)])
        var added = 0
        // Twenty thousand rows per statement, as one JSON array the server unpacks (json_to_recordset): a
        // million-item queue is fifty statements, with no per-row parameters to parse.
        for start in stride(from: 0, to: items.count, by: 20_000) {
            let first = position
            var json = "["
            for item in items[start..<min(start + 20_000, items.count)] {
                if position > first { json += "," }
                json += #"{"path":"# + Self.jsonString(item.path) + #","position":"# + String(position)
                if let v = item.gold { json += #","gold":"# + Self.jsonString(v) }
                if let v = item.suggestion { json += #","suggestion":"# + Self.jsonString(v) }
                if let v = item.overlap { json += #","overlap":"# + String(v) }
                if let v = item.predictedClass { json += #","class":"# + Self.jsonString(v) }
                if let v = item.excluded { json += #","excluded":"# + Self.jsonString(v) }
                json += "}"
                position += 1
            }
            json += "]"
            added += try tx.execute("""
                INSERT INTO queue_items (queue, path, position, gold, suggestion, overlap, class, excluded)
                SELECT $1, x.path, x.position, x.gold, x.suggestion, x.overlap, x.class, x.excluded
                FROM json_to_recordset($2::json) AS x(path text, position bigint, gold text, suggestion text, overlap integer, class text, excluded text)
                ON CONFLICT (queue, path) DO NOTHING
                """, [.text(name), .text(json)])
        }
        // Fresh statistics, so leasing plans walk the open items' index from the start.
        if items.count >= 1000 { try tx.execute("ANALYZE queue_items") }
        return added
    }

    /// A JSON string literal.
    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    package func createQueue(_ spec: QueueSpec, items: [QueueItem], allowEmpty: Bool) throws(StoreError) {
        try QueueRules.checkNew(spec, items: items, allowEmpty: allowEmpty)
        try write("creating queue \(spec.name)") { tx in
            let inserted = try tx.execute("""
                INSERT INTO queues (name, task, overlap, gold_rate, lease_seconds, instructions, created, annotators, blocked)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (name) DO NOTHING
                """, [.text(spec.name), .text(spec.task.rawValue), .int(spec.overlap), .double(spec.goldRate), .double(spec.leaseSeconds),
                      .text(spec.instructions), .double(Date().timeIntervalSince1970), .text(spec.annotators?.joined(separator: ",")),
                      .text(spec.blocked.isEmpty ? nil : spec.blocked.joined(separator: ","))])
            guard inserted == 1 else { throw StoreError(.usage, "queue \(spec.name) already exists") }
            _ = try insertItems(tx, spec.name, items)
            try Self.notify(tx, spec.name)
        }
    }

    package func addQueueItems(_ name: String, items: [QueueItem]) throws(StoreError) -> Int {
        try write("adding to queue \(name)") { tx in
            guard try !queue(tx, name, lock: true).closed else { throw QueueRules.closed(name) }
            let added = try insertItems(tx, name, items)
            if added > 0 { try Self.notify(tx, name) }
            return added
        }
    }

    package func setQueueAccess(_ name: String, annotators: [String]?, blocked: [String]) throws(StoreError) {
        try write("setting who works queue \(name)") { tx in
            _ = try queue(tx, name, lock: true)
            try tx.execute("UPDATE queues SET annotators = $1, blocked = $2 WHERE name = $3",
                           [.text(annotators?.joined(separator: ",")), .text(blocked.isEmpty ? nil : blocked.joined(separator: ",")), .text(name)])
        }
    }

    package func setQueueSkills(_ name: String, _ skills: [String: [String: Double]]) throws(StoreError) {
        try write("setting skills for queue \(name)") { tx in
            _ = try queue(tx, name, lock: true)
            try tx.execute("DELETE FROM queue_skills WHERE queue = $1", [.text(name)])
            for (annotator, classes) in skills {
                for (c, accuracy) in classes {
                    try tx.execute("INSERT INTO queue_skills (queue, annotator, class, accuracy) VALUES ($1, $2, $3, $4)",
                                   [.text(name), .text(annotator), .text(c), .double(accuracy)])
                }
            }
        }
    }

    package func queueNames() throws(StoreError) -> [String] {
        try read("listing queues") { tx in try tx.rows("SELECT name FROM queues ORDER BY name").map { try $0.text("name") } }
    }

    package func queueSummary(_ name: String, now: Date) throws(StoreError) -> QueueSummary {
        try read("reading queue \(name)") { tx in
            let q = try queue(tx, name)
            let n = [PGValue.text(name)]
            let items = try tx.int("SELECT COUNT(*) FROM queue_items WHERE queue = $1", n)
            let gold = try tx.int("SELECT COUNT(*) FROM queue_items WHERE queue = $1 AND gold IS NOT NULL", n)
            let done = try tx.int("""
                SELECT COUNT(*) FROM queue_items q WHERE q.queue = $1 AND
                  q.answers >= CASE WHEN q.gold IS NULL THEN COALESCE(q.overlap, $2) ELSE 1 END
                """, [.text(name), .int(q.spec.overlap)])
            let answers = try tx.int("SELECT COALESCE(SUM(answers), 0)::bigint FROM queue_items WHERE queue = $1", n)
            let leases = try tx.int("SELECT COUNT(*) FROM queue_leases WHERE queue = $1 AND expires > $2", [.text(name), .double(now.timeIntervalSince1970)])
            let annotators = try tx.rows("SELECT DISTINCT annotator FROM queue_answers WHERE queue = $1 ORDER BY annotator", n).map { try $0.text("annotator") }
            return QueueSummary(spec: q.spec, items: items, gold: gold, done: done, answers: answers, activeLeases: leases, annotators: annotators, closed: q.closed)
        }
    }

    package func activeLeases(_ name: String, now: Date) throws(StoreError) -> [QueueLease] {
        try read("reading queue \(name)") { tx in
            _ = try queue(tx, name)
            return try tx.rows("""
                SELECT l.path, l.annotator, l.leased, l.expires FROM queue_leases l JOIN queue_items q ON q.queue = l.queue AND q.path = l.path
                WHERE l.queue = $1 AND l.expires > $2 ORDER BY l.leased, q.position
                """, [.text(name), .double(now.timeIntervalSince1970)]).map {
                QueueLease(path: try $0.text("path"), annotator: try $0.text("annotator"), leased: try $0.optionalDouble("leased").map(Date.init(timeIntervalSince1970:)),
                           expires: Date(timeIntervalSince1970: try $0.double("expires")))
            }
        }
    }

    package func closeQueue(_ name: String) throws(StoreError) {
        try write("closing queue \(name)") { tx in
            _ = try queue(tx, name, lock: true)
            try tx.execute("UPDATE queues SET closed = $1 WHERE name = $2", [.double(Date().timeIntervalSince1970), .text(name)])
            try tx.execute("DELETE FROM queue_leases WHERE queue = $1", [.text(name)])
        }
    }

    /// The open items for an annotator, as `SQLiteStore.openItems` serves them: gold or not, not answered or held
    /// by them, not excluded, under the overlap counting answers and live leases; by skill, then position.
    static func openItems(gold: Bool, lock: Bool, skills: Bool = true) -> String {
        """
        SELECT q.path, q.gold, q.suggestion FROM queue_items q WHERE q.queue = $1 AND q.gold IS \(gold ? "NOT NULL" : "NULL")
          AND NOT EXISTS (SELECT 1 FROM queue_answers a WHERE a.queue = q.queue AND a.path = q.path AND a.annotator = $2)
          AND NOT EXISTS (SELECT 1 FROM queue_leases l WHERE l.queue = q.queue AND l.path = q.path AND \(lock ? "l.annotator = $2" : "(l.annotator = $2 OR l.expires > $5)"))
          AND NOT q.done AND (q.excluded IS NULL OR q.excluded <> $2)\(lock ? " AND NOT (q.path = ANY($6))" : "")
          AND (q.gold IS NOT NULL OR q.answers
            \(lock ? "+ (SELECT COUNT(*) FROM queue_leases l WHERE l.queue = q.queue AND l.path = q.path AND l.expires > $5)" : "") < COALESCE(q.overlap, $3))
        ORDER BY \(skills ? "COALESCE((SELECT s.accuracy FROM queue_skills s WHERE s.queue = q.queue AND s.annotator = $2 AND s.class = q.class), 0) DESC," : "")
          q.position LIMIT $4\(lock ? " FOR UPDATE OF q SKIP LOCKED" : "")
        """
    }

    package func leaseNext(_ name: String, annotator: String, now: Date) throws(StoreError) -> QueueItem? {
        try QueueRules.checkAnnotator(annotator)
        return try write("leasing from queue \(name)") { tx -> QueueItem? in
            let t = now.timeIntervalSince1970
            // One statement for the state: the queue, the item this annotator holds, how many they answered, whether
            // skills order their items; expired leases are dropped on the way.
            guard let state = try tx.rows(LeaseState.self, [.text(name), .text(annotator), .double(t)]).first else { _ = try queue(tx, name); return nil }
            let q = try Self.queueRow(state)
            guard !q.closed else { throw QueueRules.closed(name) }
            if let experts = q.spec.annotators, !experts.contains(annotator) {
                throw StoreError(.usage, "queue \(name) is worked by \(experts.joined(separator: ", ")) only, not \(annotator)")
            }
            if q.spec.blocked.contains(annotator) { return nil }
            if let held = try state.optionalText("held_path") {
                var item = QueueItem(path: held, gold: try state.optionalText("held_gold"), suggestion: try state.optionalText("held_suggestion"))
                item.lease = try state.optionalText("held_token")
                return item
            }
            let wantGold = QueueRules.wantsGold(annotator: annotator, answered: try state.int("answered"), rate: q.spec.goldRate)
            // Without skills for this annotator, serving order is the position: the index finds the first open item.
            let skills = try state["skilled"].decode(Bool.self)
            let token = QueueRules.newToken()
            var passed: [String] = []
            // SKIP LOCKED passes over items another transaction is leasing or answering right now; when that leaves
            // nothing but such items exist, wait for those transactions (each statement sees the latest commits)
            // instead of saying "nothing left". A candidate is locked first; the lease is then written by a new
            // statement (which sees every commit before the lock) only if the item is still open for this annotator,
            // so what the first statement's snapshot missed cannot slip by.
            for attempt in 0..<400 {
                let values: [PGValue] = [.text(name), .text(annotator), .int(q.spec.overlap), .int(1), .double(t), .texts(passed)]
                var next: PostgresRandomAccessRow?
                if wantGold { next = try tx.rows(skills ? CandidateGoldBySkill.self : CandidateGold.self, values).first }
                if next == nil { next = try tx.rows(skills ? CandidateBySkill.self : Candidate.self, values).first }
                if let candidate = next {
                    var item = try Self.item(candidate)
                    let leased = try tx.rows(LeaseTake.self, [.text(name), .text(item.path), .text(annotator), .double(t + q.spec.leaseSeconds), .text(token), .double(t),
                              .bool(item.gold != nil), .int(q.spec.overlap)])
                    if leased.count == 1 {
                        item.lease = token
                        return item
                    }
                    passed.append(item.path)
                    continue
                }
                let unlocked = Self.openItems(gold: false, lock: true, skills: false).replacingOccurrences(of: " FOR UPDATE OF q SKIP LOCKED", with: "")
                let waiting = try tx.row(unlocked, values) != nil
                guard waiting, attempt < 399 else { break }
                usleep(10_000)
            }
            return nil
        }
    }

    package func renewLease(_ name: String, path: String, annotator: String, lease: String, now: Date) throws(StoreError) -> Date {
        try write("renewing a lease in queue \(name)") { tx -> Date in
            let q = try queue(tx, name)
            guard !q.closed else { throw QueueRules.closed(name) }
            let expires = now.timeIntervalSince1970 + q.spec.leaseSeconds
            let renewed = try tx.execute("UPDATE queue_leases SET expires = $1 WHERE queue = $2 AND path = $3 AND annotator = $4 AND token = $5 AND expires > $6",
                                         [.double(expires), .text(name), .text(path), .text(annotator), .text(lease), .double(now.timeIntervalSince1970)])
            guard renewed == 1 else {
                throw StoreError(.conflict, "\(path): \(annotator)'s lease in queue \(name) expired or was replaced; lease it again with curate queue next")
            }
            return Date(timeIntervalSince1970: expires)
        }
    }

    package func upcoming(_ name: String, annotator: String, limit: Int, now: Date) throws(StoreError) -> [String] {
        try read("reading queue \(name)") { tx -> [String] in
            let q = try queue(tx, name)
            let values: [PGValue] = [.text(name), .text(annotator), .int(q.spec.overlap), .int(limit), .double(now.timeIntervalSince1970)]
            return try tx.rows(Self.openItems(gold: false, lock: false), values).map { try $0.text("path") }
                + (q.spec.goldRate > 0 ? try tx.rows(Self.openItems(gold: true, lock: false), values).prefix(1).map { try $0.text("path") } : [])
        }
    }

    @discardableResult
    package func storeAnswer(_ name: String, path: String, annotator: String, answer: String, seconds: Double, lease: String, now: Date) throws(StoreError) -> AnswerOutcome {
        try QueueRules.checkAnnotator(annotator)
        try QueueRules.checkSeconds(seconds)
        return try write("storing an answer in queue \(name)") { tx -> AnswerOutcome in
            let t = now.timeIntervalSince1970
            // The item row is locked with its queue's settings: two answers for one item are decided one after the other.
            guard let locked = try tx.rows(AnswerLock.self, [.text(name), .text(path)]).first else {
                _ = try queue(tx, name)
                throw StoreError(.notFound, "\(path) is not in queue \(name)")
            }
            let q = try Self.queueRow(locked)
            guard !q.closed else { throw QueueRules.closed(name) }
            // Read after the lock (a new statement sees what the previous holder of the lock committed), and in the
            // same statement store the answer and drop the lease when it is in order: the usual case is one round trip.
            let values: [PGValue] = [.text(name), .text(path), .text(annotator), .text(answer), .double(seconds), .double(t), .text(lease),
                                     .int(try locked.optionalInt("item_overlap") ?? q.spec.overlap), .bool(try locked.optionalText("item_gold") != nil)]
            let state = try tx.rows(AnswerStore.self, values).first!
            if try state.int("stored") == 1 { return .stored }
            if try state["answered"].decode(Bool.self) {
                // The same answer again (a retry after the connection dropped during its commit): already stored.
                if try state.optionalText("answered_lease") == lease { return .stored }
                throw StoreError(.usage, "\(path): \(annotator) has already answered it in queue \(name) (undo first to change it)")
            }
            guard let token = try state.optionalText("held_token") else {
                throw StoreError(.usage, "\(path): \(annotator) holds no lease on it in queue \(name)"
                    + (try state.int("live_leases") > 0 ? " (another annotator does)" : "") + "; lease it first with curate queue next")
            }
            guard token == lease else {
                throw StoreError(.usage, "\(path): the lease token does not match \(annotator)'s lease in queue \(name); lease it again with curate queue next")
            }
            // Too late: the lease expired and the item went to others, who gave it its answers. Kept, never counted.
            try tx.execute("""
                WITH late AS (INSERT INTO queue_late_answers (queue, path, annotator, answer, seconds, created, lease) VALUES ($1, $2, $3, $4, $5, $6, $7))
                DELETE FROM queue_leases WHERE queue = $1 AND path = $2 AND annotator = $3
                """, Array(values.prefix(7)))
            return .late
        }
    }

    package func queueItems(_ name: String) throws(StoreError) -> [QueueItem] {
        try read("reading queue \(name)") { tx in
            _ = try queue(tx, name)
            return try tx.rows("SELECT * FROM queue_items WHERE queue = $1 ORDER BY position", [.text(name)]).map(Self.item)
        }
    }

    package func undoLastAnswer(_ name: String, annotator: String, now: Date) throws(StoreError) -> QueueItem? {
        try write("undoing in queue \(name)") { tx -> QueueItem? in
            let q = try queue(tx, name)
            guard let last = try tx.row("""
                SELECT q.path, q.gold, q.suggestion FROM queue_answers a JOIN queue_items q ON q.queue = a.queue AND q.path = a.path
                WHERE a.queue = $1 AND a.annotator = $2 ORDER BY a.created DESC, a.id DESC LIMIT 1
                """, [.text(name), .text(annotator)]) else { return nil }
            var item = try Self.item(last)
            item.lease = QueueRules.newToken()
            try tx.execute("DELETE FROM queue_answers WHERE queue = $1 AND path = $2 AND annotator = $3", [.text(name), .text(item.path), .text(annotator)])
            try tx.execute("DELETE FROM queue_leases WHERE queue = $1 AND annotator = $2", [.text(name), .text(annotator)])
            try tx.execute("INSERT INTO queue_leases (queue, path, annotator, expires, token, leased) VALUES ($1, $2, $3, $4, $5, $6)",
                           [.text(name), .text(item.path), .text(annotator), .double(now.timeIntervalSince1970 + q.spec.leaseSeconds), .text(item.lease),
                            .double(now.timeIntervalSince1970)])
            return item
        }
    }

    package func queueAnswers(_ name: String) throws(StoreError) -> [QueueAnswer] {
        try read("reading answers of queue \(name)") { tx in
            _ = try queue(tx, name)
            return try tx.rows("""
                SELECT a.*, (q.gold IS NOT NULL) AS is_gold FROM queue_answers a JOIN queue_items q ON q.queue = a.queue AND q.path = a.path
                WHERE a.queue = $1 ORDER BY a.created, a.id
                """, [.text(name)]).map {
                QueueAnswer(path: try $0.text("path"), annotator: try $0.text("annotator"), answer: try $0.text("answer"), seconds: try $0.double("seconds"),
                            created: Date(timeIntervalSince1970: try $0.double("created")), isGold: try $0["is_gold"].decode(Bool.self))
            }
        }
    }

    /// Answers that came after their lease expired and the item had its answers elsewhere: kept, never counted.
    package func lateAnswers(_ name: String) throws(StoreError) -> [QueueAnswer] {
        try read("reading late answers of queue \(name)") { tx in
            try tx.rows("SELECT * FROM queue_late_answers WHERE queue = $1 ORDER BY id", [.text(name)]).map {
                QueueAnswer(path: try $0.text("path"), annotator: try $0.text("annotator"), answer: try $0.text("answer"), seconds: try $0.double("seconds"),
                            created: Date(timeIntervalSince1970: try $0.double("created")), isGold: false)
            }
        }
    }
}

/// The statements of the lease → answer → lease round trip.
extension PostgresStore {
    enum LeaseState: HotStatement {
        static let sql = """
        WITH expired AS (DELETE FROM queue_leases WHERE queue = $1 AND expires <= $3 RETURNING 1)
        SELECT q.*, h.path AS held_path, h.gold AS held_gold, h.suggestion AS held_suggestion, h.token AS held_token,
          (SELECT COUNT(*) FROM queue_answers a WHERE a.queue = $1 AND a.annotator = $2) AS answered,
          EXISTS (SELECT 1 FROM queue_skills s WHERE s.queue = $1 AND s.annotator = $2) AS skilled,
          (SELECT COUNT(*) FROM expired) AS dropped
        FROM queues q LEFT JOIN LATERAL (
          SELECT i.path, i.gold, i.suggestion, l.token FROM queue_leases l JOIN queue_items i ON i.queue = l.queue AND i.path = l.path
          WHERE l.queue = $1 AND l.annotator = $2 AND l.expires > $3 ORDER BY i.position LIMIT 1) h ON true
        WHERE q.name = $1
        """
    }

    enum LeaseTake: HotStatement {
        static let sql = """
        INSERT INTO queue_leases (queue, path, annotator, expires, token, leased)
        SELECT $1, $2, $3, $4, $5, $6
        WHERE NOT EXISTS (SELECT 1 FROM queue_answers a WHERE a.queue = $1 AND a.path = $2 AND a.annotator = $3)
          AND ($7 OR (SELECT answers FROM queue_items WHERE queue = $1 AND path = $2)
              + (SELECT COUNT(*) FROM queue_leases l WHERE l.queue = $1 AND l.path = $2 AND l.expires > $6)
              < (SELECT COALESCE(overlap, $8) FROM queue_items WHERE queue = $1 AND path = $2))
        ON CONFLICT (queue, path, annotator) DO UPDATE SET expires = EXCLUDED.expires, token = EXCLUDED.token, leased = EXCLUDED.leased
        RETURNING 1
        """
    }

    enum AnswerLock: HotStatement {
        static let sql = """
        SELECT q.*, i.gold AS item_gold, i.overlap AS item_overlap FROM queue_items i JOIN queues q ON q.name = i.queue
        WHERE i.queue = $1 AND i.path = $2 FOR UPDATE OF i
        """
    }

    enum AnswerStore: HotStatement {
        static let sql = """
        WITH st AS (
          SELECT (SELECT lease FROM queue_answers a WHERE a.queue = $1 AND a.path = $2 AND a.annotator = $3) AS answered_lease,
            EXISTS (SELECT 1 FROM queue_answers a WHERE a.queue = $1 AND a.path = $2 AND a.annotator = $3) AS answered,
            (SELECT token FROM queue_leases l WHERE l.queue = $1 AND l.path = $2 AND l.annotator = $3) AS held_token,
            (SELECT expires FROM queue_leases l WHERE l.queue = $1 AND l.path = $2 AND l.annotator = $3) AS held_expires,
            (SELECT COUNT(*) FROM queue_leases l WHERE l.queue = $1 AND l.path = $2 AND l.expires > $6) AS live_leases,
            (SELECT answers FROM queue_items WHERE queue = $1 AND path = $2) AS answers),
        ok AS (SELECT 1 FROM st WHERE NOT st.answered AND st.held_token = $7 AND (st.held_expires > $6 OR $9 OR st.answers < $8)),
        stored AS (INSERT INTO queue_answers (queue, path, annotator, answer, seconds, created, lease)
          SELECT $1, $2, $3, $4, $5, $6, $7 FROM ok RETURNING 1),
        released AS (DELETE FROM queue_leases WHERE queue = $1 AND path = $2 AND annotator = $3 AND EXISTS (SELECT 1 FROM ok))
        SELECT st.*, (SELECT COUNT(*) FROM stored) AS stored FROM st
        """
    }

    enum Candidate: HotStatement {
        static let sql = openItems(gold: false, lock: true, skills: false)
    }

    enum CandidateBySkill: HotStatement {
        static let sql = openItems(gold: false, lock: true, skills: true)
    }

    enum CandidateGold: HotStatement {
        static let sql = openItems(gold: true, lock: true, skills: false)
    }

    enum CandidateGoldBySkill: HotStatement {
        static let sql = openItems(gold: true, lock: true, skills: true)
    }
}
