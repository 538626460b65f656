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
    static let shipped: [(id: String, sql: String)] = [
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
        // The lease and the answer as one call each (one round trip, its own transaction), with the rules of
        // `leaseNext`/`storeAnswer` below; they run as the caller (row-level security applies). Each statement in
        // them sees the commits before it, so the "lock, then check again" order holds as in the client.
        ("v5", """
            CREATE FUNCTION curate_wants_gold(who text, answered bigint, rate double precision) RETURNS boolean
            LANGUAGE plpgsql IMMUTABLE AS $$
            DECLARE
              h numeric := 14695981039346656037;
              bytes bytea := convert_to(who || '#' || answered::text, 'UTF8');
              lo integer;
            BEGIN
              IF rate <= 0 THEN RETURN false; END IF;
              FOR i IN 0 .. length(bytes) - 1 LOOP
                lo := (h % 256)::integer;
                h := h - lo + (lo # get_byte(bytes, i));
                h := (h * 1099511628211) % 18446744073709551616;
              END LOOP;
              RETURN (h % 1000000) / 1000000.0 < rate;
            END $$
            --;
            CREATE FUNCTION curate_lease(p_queue text, p_who text, p_now double precision, p_token text)
            RETURNS TABLE (status text, item text, gold text, suggestion text, token text)
            LANGUAGE plpgsql AS $$
            DECLARE
              qr record;
              v_answered bigint;
              v_skilled boolean;
              v_gold boolean;
              v_want boolean;
              v_passed text[] := '{}';
              v_path text;
              v_igold text;
              v_sugg text;
              v_taken integer;
            BEGIN
              SELECT * INTO qr FROM queues q WHERE q.name = p_queue;
              IF NOT FOUND THEN RETURN QUERY SELECT 'unknown'::text, NULL::text, NULL::text, NULL::text, NULL::text; RETURN; END IF;
              IF qr.closed IS NOT NULL THEN RETURN QUERY SELECT 'closed'::text, NULL::text, NULL::text, NULL::text, NULL::text; RETURN; END IF;
              IF qr.annotators IS NOT NULL AND NOT (p_who = ANY (string_to_array(qr.annotators, ','))) THEN
                RETURN QUERY SELECT 'experts'::text, NULL::text, NULL::text, NULL::text, qr.annotators; RETURN;
              END IF;
              IF qr.blocked IS NOT NULL AND p_who = ANY (string_to_array(qr.blocked, ',')) THEN
                RETURN QUERY SELECT 'none'::text, NULL::text, NULL::text, NULL::text, NULL::text; RETURN;
              END IF;
              RETURN QUERY SELECT 'held'::text, i.path, i.gold, i.suggestion, l.token FROM queue_leases l
                JOIN queue_items i ON i.queue = l.queue AND i.path = l.path
                WHERE l.queue = p_queue AND l.annotator = p_who AND l.expires > p_now ORDER BY i.position LIMIT 1;
              IF FOUND THEN RETURN; END IF;
              DELETE FROM queue_leases l WHERE l.queue = p_queue AND l.expires <= p_now;
              SELECT COUNT(*) INTO v_answered FROM queue_answers a WHERE a.queue = p_queue AND a.annotator = p_who;
              v_skilled := EXISTS (SELECT 1 FROM queue_skills s WHERE s.queue = p_queue AND s.annotator = p_who);
              v_gold := curate_wants_gold(p_who, v_answered, qr.gold_rate);
              FOR attempt IN 0 .. 399 LOOP
                v_path := NULL;
                FOREACH v_want IN ARRAY CASE WHEN v_gold THEN ARRAY[true, false] ELSE ARRAY[false] END LOOP
                  IF v_skilled THEN
                    SELECT q.path, q.gold, q.suggestion INTO v_path, v_igold, v_sugg FROM queue_items q
                    WHERE q.queue = p_queue AND NOT q.done AND (q.gold IS NOT NULL) = v_want
                      AND NOT EXISTS (SELECT 1 FROM queue_answers a WHERE a.queue = q.queue AND a.path = q.path AND a.annotator = p_who)
                      AND NOT EXISTS (SELECT 1 FROM queue_leases l WHERE l.queue = q.queue AND l.path = q.path AND l.annotator = p_who)
                      AND (q.excluded IS NULL OR q.excluded <> p_who) AND NOT (q.path = ANY (v_passed))
                      AND (q.gold IS NOT NULL OR q.answers + (SELECT COUNT(*) FROM queue_leases l WHERE l.queue = q.queue AND l.path = q.path AND l.expires > p_now)
                           < COALESCE(q.overlap, qr.overlap))
                    ORDER BY COALESCE((SELECT s.accuracy FROM queue_skills s WHERE s.queue = q.queue AND s.annotator = p_who AND s.class = q.class), 0) DESC, q.position
                    LIMIT 1 FOR UPDATE OF q SKIP LOCKED;
                  ELSE
                    SELECT q.path, q.gold, q.suggestion INTO v_path, v_igold, v_sugg FROM queue_items q
                    WHERE q.queue = p_queue AND NOT q.done AND (q.gold IS NOT NULL) = v_want
                      AND NOT EXISTS (SELECT 1 FROM queue_answers a WHERE a.queue = q.queue AND a.path = q.path AND a.annotator = p_who)
                      AND NOT EXISTS (SELECT 1 FROM queue_leases l WHERE l.queue = q.queue AND l.path = q.path AND l.annotator = p_who)
                      AND (q.excluded IS NULL OR q.excluded <> p_who) AND NOT (q.path = ANY (v_passed))
                      AND (q.gold IS NOT NULL OR q.answers + (SELECT COUNT(*) FROM queue_leases l WHERE l.queue = q.queue AND l.path = q.path AND l.expires > p_now)
                           < COALESCE(q.overlap, qr.overlap))
                    ORDER BY q.position
                    LIMIT 1 FOR UPDATE OF q SKIP LOCKED;
                  END IF;
                  EXIT WHEN v_path IS NOT NULL;
                END LOOP;
                IF v_path IS NOT NULL THEN
                  INSERT INTO queue_leases (queue, path, annotator, expires, token, leased)
                  SELECT p_queue, v_path, p_who, p_now + qr.lease_seconds, p_token, p_now
                  WHERE NOT EXISTS (SELECT 1 FROM queue_answers a WHERE a.queue = p_queue AND a.path = v_path AND a.annotator = p_who)
                    AND (v_igold IS NOT NULL OR (SELECT i.answers FROM queue_items i WHERE i.queue = p_queue AND i.path = v_path)
                         + (SELECT COUNT(*) FROM queue_leases l WHERE l.queue = p_queue AND l.path = v_path AND l.expires > p_now)
                         < (SELECT COALESCE(i.overlap, qr.overlap) FROM queue_items i WHERE i.queue = p_queue AND i.path = v_path))
                  ON CONFLICT (queue, path, annotator) DO UPDATE SET expires = EXCLUDED.expires, token = EXCLUDED.token, leased = EXCLUDED.leased;
                  GET DIAGNOSTICS v_taken = ROW_COUNT;
                  IF v_taken = 1 THEN RETURN QUERY SELECT 'leased'::text, v_path, v_igold, v_sugg, p_token; RETURN; END IF;
                  v_passed := v_passed || v_path;
                  CONTINUE;
                END IF;
                -- Nothing unlocked: wait for those who hold locks on open items, if any, else nothing is left.
                EXIT WHEN attempt = 399 OR NOT EXISTS (SELECT 1 FROM queue_items q
                  WHERE q.queue = p_queue AND NOT q.done AND q.gold IS NULL
                    AND NOT EXISTS (SELECT 1 FROM queue_answers a WHERE a.queue = q.queue AND a.path = q.path AND a.annotator = p_who)
                    AND NOT EXISTS (SELECT 1 FROM queue_leases l WHERE l.queue = q.queue AND l.path = q.path AND l.annotator = p_who)
                    AND (q.excluded IS NULL OR q.excluded <> p_who) AND NOT (q.path = ANY (v_passed))
                    AND q.answers + (SELECT COUNT(*) FROM queue_leases l WHERE l.queue = q.queue AND l.path = q.path AND l.expires > p_now)
                        < COALESCE(q.overlap, qr.overlap));
                PERFORM pg_sleep(0.01);
              END LOOP;
              RETURN QUERY SELECT 'none'::text, NULL::text, NULL::text, NULL::text, NULL::text;
            END $$
            --;
            CREATE FUNCTION curate_answer(p_queue text, p_path text, p_who text, p_answer text, p_seconds double precision,
                                          p_now double precision, p_lease text)
            RETURNS TABLE (status text, others bigint)
            LANGUAGE plpgsql AS $$
            DECLARE
              v_closed double precision;
              v_qoverlap integer;
              v_gold text;
              v_overlap integer;
              v_alease text;
              v_token text;
              v_expires double precision;
            BEGIN
              SELECT q.closed, q.overlap, i.gold, i.overlap INTO v_closed, v_qoverlap, v_gold, v_overlap
                FROM queue_items i JOIN queues q ON q.name = i.queue WHERE i.queue = p_queue AND i.path = p_path FOR UPDATE OF i;
              IF NOT FOUND THEN
                RETURN QUERY SELECT CASE WHEN EXISTS (SELECT 1 FROM queues q WHERE q.name = p_queue) THEN 'noitem' ELSE 'unknown' END, 0::bigint;
                RETURN;
              END IF;
              IF v_closed IS NOT NULL THEN RETURN QUERY SELECT 'closed'::text, 0::bigint; RETURN; END IF;
              SELECT a.lease INTO v_alease FROM queue_answers a WHERE a.queue = p_queue AND a.path = p_path AND a.annotator = p_who;
              IF FOUND THEN
                RETURN QUERY SELECT CASE WHEN v_alease = p_lease THEN 'stored' ELSE 'already' END, 0::bigint;
                RETURN;
              END IF;
              SELECT l.token, l.expires INTO v_token, v_expires FROM queue_leases l WHERE l.queue = p_queue AND l.path = p_path AND l.annotator = p_who;
              IF NOT FOUND THEN
                RETURN QUERY SELECT 'nolease'::text, (SELECT COUNT(*) FROM queue_leases l WHERE l.queue = p_queue AND l.path = p_path AND l.expires > p_now);
                RETURN;
              END IF;
              IF v_token IS DISTINCT FROM p_lease THEN RETURN QUERY SELECT 'mismatch'::text, 0::bigint; RETURN; END IF;
              IF v_expires <= p_now AND v_gold IS NULL
                 AND (SELECT i.answers FROM queue_items i WHERE i.queue = p_queue AND i.path = p_path) >= COALESCE(v_overlap, v_qoverlap) THEN
                INSERT INTO queue_late_answers (queue, path, annotator, answer, seconds, created, lease) VALUES (p_queue, p_path, p_who, p_answer, p_seconds, p_now, p_lease);
                DELETE FROM queue_leases l WHERE l.queue = p_queue AND l.path = p_path AND l.annotator = p_who;
                RETURN QUERY SELECT 'late'::text, 0::bigint;
                RETURN;
              END IF;
              INSERT INTO queue_answers (queue, path, annotator, answer, seconds, created, lease) VALUES (p_queue, p_path, p_who, p_answer, p_seconds, p_now, p_lease);
              DELETE FROM queue_leases l WHERE l.queue = p_queue AND l.path = p_path AND l.annotator = p_who;
              RETURN QUERY SELECT 'stored'::text, 0::bigint;
            END $$
            """),
    ]

    /// Every migration, in order.
    static let migrations: [(id: String, sql: String)] = shipped + [
        // Live vetting (as SQLite's v5): a queue's policy; answers held while their annotator is blocked (not counted
        // by the trigger); an event log written by the trigger (as the owner: annotators cannot read it); decisions
        // (an annotator sees their own); adaptive gold rates, which `curate_lease` now prefers to the queue's.
        ("v6", """
            ALTER TABLE queues ADD COLUMN policy text
            --;
            ALTER TABLE queue_answers ADD COLUMN held integer NOT NULL DEFAULT 0
            --;
            CREATE TABLE queue_events (id bigserial PRIMARY KEY, queue text NOT NULL, kind text NOT NULL, path text NOT NULL, annotator text NOT NULL,
                answer text NOT NULL, seconds double precision NOT NULL, created double precision NOT NULL, held integer NOT NULL DEFAULT 0)
            --;
            CREATE INDEX queue_events_by_queue ON queue_events (queue, id)
            --;
            INSERT INTO queue_events (queue, kind, path, annotator, answer, seconds, created)
                SELECT queue, 'answer', path, annotator, answer, seconds, created FROM queue_answers ORDER BY created, id
            --;
            CREATE TABLE queue_decisions (id bigserial PRIMARY KEY, queue text NOT NULL, annotator text NOT NULL, action text NOT NULL,
                reason text NOT NULL, evidence text NOT NULL, by_whom text NOT NULL, created double precision NOT NULL)
            --;
            CREATE INDEX queue_decisions_by_queue ON queue_decisions (queue, id)
            --;
            ALTER TABLE queue_decisions ENABLE ROW LEVEL SECURITY
            --;
            CREATE POLICY own_decisions ON queue_decisions FOR SELECT USING (annotator = session_user)
            --;
            CREATE TABLE queue_gold_rates (queue text NOT NULL, annotator text NOT NULL, rate double precision NOT NULL, PRIMARY KEY (queue, annotator))
            --;
            ALTER TABLE queue_gold_rates ENABLE ROW LEVEL SECURITY
            --;
            CREATE POLICY own_gold_rate ON queue_gold_rates FOR SELECT USING (annotator = session_user)
            --;
            CREATE OR REPLACE FUNCTION curate_count_answers() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
            DECLARE
              r record;
              step integer;
            BEGIN
              IF TG_OP = 'INSERT' THEN
                r := NEW; step := 1 - NEW.held;
                INSERT INTO queue_events (queue, kind, path, annotator, answer, seconds, created, held)
                  VALUES (NEW.queue, 'answer', NEW.path, NEW.annotator, NEW.answer, NEW.seconds, NEW.created, NEW.held);
              ELSIF TG_OP = 'DELETE' THEN
                r := OLD; step := OLD.held - 1;
                INSERT INTO queue_events (queue, kind, path, annotator, answer, seconds, created, held)
                  VALUES (OLD.queue, 'undo', OLD.path, OLD.annotator, OLD.answer, OLD.seconds, OLD.created, OLD.held);
              ELSE
                r := NEW; step := OLD.held - NEW.held;
              END IF;
              IF step <> 0 THEN
                UPDATE queue_items i SET answers = i.answers + step,
                  done = (i.gold IS NULL AND i.answers + step >= COALESCE(i.overlap, (SELECT overlap FROM queues WHERE name = i.queue)))
                WHERE i.queue = r.queue AND i.path = r.path;
              END IF;
              RETURN r;
            END $$
            --;
            DROP TRIGGER queue_answers_count ON queue_answers
            --;
            CREATE TRIGGER queue_answers_count AFTER INSERT OR DELETE OR UPDATE OF held ON queue_answers FOR EACH ROW EXECUTE FUNCTION curate_count_answers()
            --;
            \(leaseWithGoldRates)
            """),
    ]

    /// v5's `curate_lease` with one change: an annotator's adaptive gold rate (`queue_gold_rates`) replaces the
    /// queue's when there is one. Derived from the frozen v5 text, so the two cannot drift apart.
    static var leaseWithGoldRates: String {
        let v5 = shipped.first { $0.id == "v5" }?.sql ?? ""
        guard let lease = v5.components(separatedBy: "\n--;\n").first(where: { $0.contains("CREATE FUNCTION curate_lease(") }) else { return "" }
        return lease.replacingOccurrences(of: "CREATE FUNCTION curate_lease(", with: "CREATE OR REPLACE FUNCTION curate_lease(")
            .replacingOccurrences(of: "v_gold := curate_wants_gold(p_who, v_answered, qr.gold_rate);",
                                  with: "v_gold := curate_wants_gold(p_who, v_answered, COALESCE((SELECT g.rate FROM queue_gold_rates g WHERE g.queue = p_queue AND g.annotator = p_who), qr.gold_rate));")
    }

    /// Every object of the schema, for ownership and grants.
    static let tables = ["curate_migrations", "queues", "queue_items", "queue_leases", "queue_answers", "queue_late_answers", "queue_skills",
                         "route_runs", "route_items", "route_retired", "route_suspended", "workflow_runs", "workflow_steps", "queue_answer_counts",
                         "queue_events", "queue_decisions", "queue_gold_rates"]

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
        var spec = QueueSpec(name: try row.text("name"), task: QueueSpec.Task(rawValue: try row.text("task")) ?? .classify, overlap: try row.int("overlap"),
                             goldRate: try row.double("gold_rate"), leaseSeconds: try row.double("lease_seconds"), instructions: try row.text("instructions"),
                             annotators: list(try row.optionalText("annotators")), blocked: list(try row.optionalText("blocked")) ?? [])
        spec.policy = row.contains("policy") ? try row.optionalText("policy") : nil
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
                INSERT INTO queues (name, task, overlap, gold_rate, lease_seconds, instructions, created, annotators, blocked, policy)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (name) DO NOTHING
                """, [.text(spec.name), .text(spec.task.rawValue), .int(spec.overlap), .double(spec.goldRate), .double(spec.leaseSeconds),
                      .text(spec.instructions), .double(Date().timeIntervalSince1970), .text(spec.annotators?.joined(separator: ",")),
                      .text(spec.blocked.isEmpty ? nil : spec.blocked.joined(separator: ",")), .text(spec.policy)])
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
        // One statement, one pass over the queue's items: a session draws this on every frame.
        let row = try session.statement("reading queue \(name)") { tx in
            try tx.row("""
                SELECT q.*, c.items, c.gold_items, c.done, c.answers,
                  (SELECT COUNT(*) FROM queue_leases l WHERE l.queue = $1 AND l.expires > $2) AS leases,
                  ARRAY(SELECT DISTINCT a.annotator FROM queue_answers a WHERE a.queue = $1 ORDER BY a.annotator) AS people
                FROM queues q, LATERAL (
                  SELECT COUNT(*) AS items, COUNT(*) FILTER (WHERE i.gold IS NOT NULL) AS gold_items,
                    COUNT(*) FILTER (WHERE i.answers >= CASE WHEN i.gold IS NULL THEN COALESCE(i.overlap, q.overlap) ELSE 1 END) AS done,
                    COALESCE(SUM(i.answers), 0)::bigint AS answers
                  FROM queue_items i WHERE i.queue = q.name) c
                WHERE q.name = $1
                """, [.text(name), .double(now.timeIntervalSince1970)])
        }
        guard let row else { throw QueueRules.unknownQueue(name, known: try queueNames()) }
        do {
            let q = try Self.queueRow(row)
            return QueueSummary(spec: q.spec, items: try row.int("items"), gold: try row.int("gold_items"), done: try row.int("done"),
                                answers: try row.int("answers"), activeLeases: try row.int("leases"), annotators: try row["people"].decode([String].self),
                                closed: q.closed)
        } catch { throw PostgresSession.storeError(error, location: session.location, "reading queue \(name)") }
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

    /// The items `curate_lease` would serve an annotator next, without locking them (for prefetching): gold or not,
    /// not answered or held by anyone, not excluded, under the overlap; by skill, then position.
    static func upcomingItems(gold: Bool) -> String {
        """
        SELECT q.path FROM queue_items q WHERE q.queue = $1 AND q.gold IS \(gold ? "NOT NULL" : "NULL")
          AND NOT EXISTS (SELECT 1 FROM queue_answers a WHERE a.queue = q.queue AND a.path = q.path AND a.annotator = $2)
          AND NOT EXISTS (SELECT 1 FROM queue_leases l WHERE l.queue = q.queue AND l.path = q.path AND (l.annotator = $2 OR l.expires > $5))
          AND NOT q.done AND (q.excluded IS NULL OR q.excluded <> $2)
          AND (q.gold IS NOT NULL OR q.answers < COALESCE(q.overlap, $3))
        ORDER BY COALESCE((SELECT s.accuracy FROM queue_skills s WHERE s.queue = q.queue AND s.annotator = $2 AND s.class = q.class), 0) DESC,
          q.position LIMIT $4
        """
    }

    package func leaseNext(_ name: String, annotator: String, now: Date) throws(StoreError) -> QueueItem? {
        try QueueRules.checkAnnotator(annotator)
        // One call, its own transaction (`curate_lease`, migration v5): the queue's rules, the item already held,
        // expired leases dropped, the gold draw, the first open item locked with SKIP LOCKED and the lease written
        // only if the item is still open for this annotator (a new statement, after the lock). Retried after a lost
        // connection, a lease that was committed comes back as the item held.
        let row = try session.statement("leasing from queue \(name)") { tx in
            try tx.row("SELECT * FROM curate_lease($1, $2, $3, $4)", [.text(name), .text(annotator), .double(now.timeIntervalSince1970), .text(QueueRules.newToken())])
        }
        do {
            switch try row?.optionalText("status") {
            case "held", "leased":
                guard let row else { return nil }
                var item = QueueItem(path: try row.text("item"), gold: try row.optionalText("gold"), suggestion: try row.optionalText("suggestion"))
                item.lease = try row.optionalText("token")
                return item
            case "unknown": throw QueueRules.unknownQueue(name, known: try queueNames())
            case "closed": throw QueueRules.closed(name)
            case "experts":
                let experts = (try row?.optionalText("token") ?? "").split(separator: ",").joined(separator: ", ")
                throw StoreError(.usage, "queue \(name) is worked by \(experts) only, not \(annotator)")
            default: return nil
            }
        } catch let error as StoreError { throw error } catch { throw PostgresSession.storeError(error, location: session.location, "leasing from queue \(name)") }
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
            return try tx.rows(Self.upcomingItems(gold: false), values).map { try $0.text("path") }
                + (q.spec.goldRate > 0 ? try tx.rows(Self.upcomingItems(gold: true), values).prefix(1).map { try $0.text("path") } : [])
        }
    }

    @discardableResult
    package func storeAnswer(_ name: String, path: String, annotator: String, answer: String, seconds: Double, lease: String, now: Date) throws(StoreError) -> AnswerOutcome {
        try QueueRules.checkAnnotator(annotator)
        try QueueRules.checkSeconds(seconds)
        // One call, its own transaction (`curate_answer`, migration v5): the item row locked, then the answer checked
        // against the annotator's lease (fencing) and stored with the lease released, or kept as late.
        let row = try session.statement("storing an answer in queue \(name)") { tx in
            try tx.row("SELECT * FROM curate_answer($1, $2, $3, $4, $5, $6, $7)",
                       [.text(name), .text(path), .text(annotator), .text(answer), .double(seconds), .double(now.timeIntervalSince1970), .text(lease)])
        }
        do {
            switch try row?.optionalText("status") {
            case "stored": return .stored
            case "late": return .late
            case "unknown": throw QueueRules.unknownQueue(name, known: try queueNames())
            case "noitem": throw StoreError(.notFound, "\(path) is not in queue \(name)")
            case "closed": throw QueueRules.closed(name)
            case "already": throw StoreError(.usage, "\(path): \(annotator) has already answered it in queue \(name) (undo first to change it)")
            case "nolease":
                if let block = try activeBlock(name, annotator: annotator) { throw QueueRules.paused(name, annotator: annotator, reason: block.reason) }
                let others = try row?["others"].decode(Int.self) ?? 0
                throw StoreError(.usage, "\(path): \(annotator) holds no lease on it in queue \(name)"
                    + (others > 0 ? " (another annotator does)" : "") + "; lease it first with curate queue next")
            default:
                throw StoreError(.usage, "\(path): the lease token does not match \(annotator)'s lease in queue \(name); lease it again with curate queue next")
            }
        } catch let error as StoreError { throw error } catch { throw PostgresSession.storeError(error, location: session.location, "storing an answer in queue \(name)") }
    }

    package func queueItems(_ name: String) throws(StoreError) -> [QueueItem] {
        try read("reading queue \(name)") { tx in
            _ = try queue(tx, name)
            return try tx.rows("SELECT * FROM queue_items WHERE queue = $1 ORDER BY position", [.text(name)]).map(Self.item)
        }
    }

    package func reopenAnswer(_ name: String, annotator: String, path: String?, now: Date) throws(StoreError) -> QueueItem? {
        try write("undoing in queue \(name)") { tx -> QueueItem? in
            let q = try queue(tx, name)
            if q.spec.blocked.contains(annotator) { throw QueueRules.paused(name, annotator: annotator, reason: nil) }
            guard let last = try tx.row("""
                SELECT q.path, q.gold, q.suggestion FROM queue_answers a JOIN queue_items q ON q.queue = a.queue AND q.path = a.path
                WHERE a.queue = $1 AND a.annotator = $2 AND ($3::text IS NULL OR a.path = $3) ORDER BY a.created DESC, a.id DESC LIMIT 1
                """, [.text(name), .text(annotator), .text(path)]) else { return nil }
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

    package func annotatorProgress(_ name: String, annotator: String) throws(StoreError) -> (answers: Int, open: Int) {
        // Item counts come from `queue_items.answers` (kept by triggers): an annotator may read only their own answers.
        let row = try session.statement("reading queue \(name)") { tx in
            try tx.row("""
                SELECT (SELECT COUNT(*) FROM queue_answers a WHERE a.queue = $1 AND a.annotator = $2) AS mine,
                  (SELECT COUNT(*) FROM queue_items i, queues q WHERE q.name = $1 AND i.queue = $1 AND i.gold IS NULL
                     AND i.answers < COALESCE(i.overlap, q.overlap)
                     AND NOT EXISTS (SELECT 1 FROM queue_answers a WHERE a.queue = i.queue AND a.path = i.path AND a.annotator = $2)) AS open,
                  EXISTS (SELECT 1 FROM queues WHERE name = $1) AS known
                """, [.text(name), .text(annotator)])
        }
        guard let row, (try? row["known"].decode(Bool.self)) == true else { throw QueueRules.unknownQueue(name, known: try queueNames()) }
        do { return (try row.int("mine"), try row.int("open")) } catch {
            throw PostgresSession.storeError(error, location: session.location, "reading queue \(name)")
        }
    }

    package func queueAnswers(_ name: String, includeHeld: Bool) throws(StoreError) -> [QueueAnswer] {
        try read("reading answers of queue \(name)") { tx in
            _ = try queue(tx, name)
            return try tx.rows("""
                SELECT a.*, (q.gold IS NOT NULL) AS is_gold FROM queue_answers a JOIN queue_items q ON q.queue = a.queue AND q.path = a.path
                WHERE a.queue = $1\(includeHeld ? "" : " AND a.held = 0") ORDER BY a.created, a.id
                """, [.text(name)]).map(Self.answer)
        }
    }

    /// An answer from a row of `queue_answers` or `queue_events` (with `is_gold` when joined to its item).
    static func answer(_ row: PostgresRandomAccessRow) throws -> QueueAnswer {
        var answer = QueueAnswer(path: try row.text("path"), annotator: try row.text("annotator"), answer: try row.text("answer"), seconds: try row.double("seconds"),
                    created: Date(timeIntervalSince1970: try row.double("created")),
                    isGold: row.contains("is_gold") ? try row["is_gold"].decode(Bool.self) : false,
                    held: row.contains("held") ? try row.int("held") != 0 : false, id: Int64(try row.int("id")))
        answer.goldAnswer = row.contains("gold_answer") ? try row.optionalText("gold_answer") : nil
        return answer
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
