import Foundation
import PostgresNIO

/// Who may do what in a shared store. Two group roles: `curate_annotator` may lease and answer, as its own login
/// role only, and read queues and items but not others' answers or skills (row-level security, migration v2);
/// `curate_lead` owns the schema and may do everything (create, route, export, vet, answer for anyone).
extension PostgresStore {
    package enum Role: String, Sendable, CaseIterable {
        case annotator, lead
        var group: String { "curate_" + rawValue }
    }

    package func onReconnect(_ handler: @escaping @Sendable (Int) -> Void) { session.setOnReconnect(handler) }

    package func workMayHaveArrived(in queue: String, now: Date) -> Bool {
        session.watch()
        return session.notified.take(queue, now: now, fallback: 30)
    }

    /// Wakes the sessions waiting on `queue` once this transaction commits.
    static func notify(_ tx: PostgresTransaction, _ queue: String) throws {
        try tx.execute("SELECT pg_notify('curate_items', $1)", [.text(queue)])
    }

    package func annotator(requested: String?) throws(StoreError) -> String {
        let (me, lead) = try read("checking who is connected") { tx -> (String, Bool) in
            guard let row = try tx.row("""
                SELECT session_user::text AS me, pg_has_role(session_user, (SELECT relowner FROM pg_class WHERE oid = 'queue_answers'::regclass), 'USAGE') AS lead
                """) else { return ("", false) }
            return (try row.text("me"), try row["lead"].decode(Bool.self))
        }
        guard let requested, requested != me else {
            try QueueRules.checkAnnotator(me)
            return me
        }
        guard lead else {
            throw StoreError(.usage, "\(location): you are connected as role \(me), and an annotator answers as their own role only; leave out --annotator (or ask a lead)")
        }
        try QueueRules.checkAnnotator(requested)
        return requested
    }

    /// Makes `roles` annotators or leads of this store: creates the group role if needed, gives it its rights on
    /// the schema (leads: ownership of it), and grants it to each role. Run by the schema's owner or a superuser.
    package func grant(_ role: Role, to roles: [String]) throws(StoreError) {
        for name in roles where name.isEmpty || name.count > 63 || name.contains(where: { $0 == "\"" || $0.isNewline }) {
            throw StoreError(.usage, "\(name): not a role name")
        }
        let quote = { (name: String) in "\"" + name + "\"" }
        try write("granting \(role.rawValue) rights") { tx in
            let exists = try tx.int("SELECT COUNT(*) FROM pg_roles WHERE rolname = $1", [.text(role.group)]) > 0
            if !exists { try tx.execute("CREATE ROLE \(role.group) NOLOGIN") }
            for name in roles where try tx.int("SELECT COUNT(*) FROM pg_roles WHERE rolname = $1", [.text(name)]) == 0 {
                throw StoreError(.notFound, "\(location): there is no role \(name) (CREATE ROLE \(name) LOGIN first)")
            }
            switch role {
            case .lead:
                // The group owns the schema, so every lead is an owner: not bound by the annotators' policies.
                try tx.execute("GRANT curate_lead TO CURRENT_USER")
                for table in Self.tables { try tx.execute("ALTER TABLE \(table) OWNER TO curate_lead") }
                for function in ["curate_count_answers()", "curate_wants_gold(text, bigint, double precision)", "curate_lease(text, text, double precision, text)",
                                 "curate_answer(text, text, text, text, double precision, double precision, text)"] {
                    try tx.execute("ALTER FUNCTION \(function) OWNER TO curate_lead")
                }
            case .annotator:
                try tx.execute("GRANT SELECT ON curate_migrations, queues, queue_items, queue_leases, queue_answers, queue_late_answers, queue_skills, queue_answer_counts, queue_decisions, queue_gold_rates TO curate_annotator")
                try tx.execute("GRANT INSERT, DELETE ON queue_answers TO curate_annotator")
                try tx.execute("GRANT INSERT ON queue_late_answers TO curate_annotator")
                try tx.execute("GRANT INSERT, UPDATE, DELETE ON queue_leases TO curate_annotator")
                try tx.execute("GRANT UPDATE ON queue_items TO curate_annotator")   // to lock items while leasing; the policy refuses changes
                try tx.execute("GRANT USAGE ON SEQUENCE queue_answers_id_seq, queue_late_answers_id_seq TO curate_annotator")
            }
            for name in roles { try tx.execute("GRANT \(role.group) TO \(quote(name))") }
        }
    }
}
