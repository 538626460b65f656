import ArgumentParser
import CurateStore
import Foundation

extension Curate {
    struct Store: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Choose where the labeling state lives: this repository's SQLite file, or a shared PostgreSQL database.",
            discussion: """
                Queues, leases, answers, routing records and workflow runs live in .curate/labeling.sqlite by \
                default (one machine). `curate store set postgres://USER@HOST:PORT/DB` records a shared \
                PostgreSQL database in .curate/store, so annotators on other machines, each with their own copy \
                of the dataset, work the same queues. CURATE_STORE overrides it for one command (CURATE_STORE=sqlite \
                forces the local file). The rest follows libpq: PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, \
                PGSSLMODE, ~/.pgpass; ?sslmode=require|verify-full for TLS. A password is never written to the \
                repository: give it with PGPASSWORD or ~/.pgpass. Curate creates and migrates its tables itself.

                Examples:
                  curate store set postgres://lead@db.internal:5432/labels
                  curate store show
                  curate store unset
                  curate store grant lead lead
                  curate store grant annotator ana ben
                  curate store migrate postgres://lead@db.internal:5432/labels
                """,
            subcommands: [SetStore.self, Show.self, Unset.self, Grant.self, Migrate.self],
            defaultSubcommand: Show.self)
    }
}

extension Curate.Store {
    struct SetStore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set", abstract: "Use a PostgreSQL database for this repository's labeling state (checked by connecting).",
            discussion: "Example:\n  curate store set postgres://lead@db.internal:5432/labels?sslmode=require")
        @Argument(help: "postgres://[USER@]HOST[:PORT]/DATABASE[?sslmode=…] (no password).") var url: String
        @OptionGroup var repository: RepositoryOption

        func run() async throws {
            try await reportingErrors {
                let dot = try repository.open().root + "/.curate"
                let store = try PostgresStore(try PostgresLocation(url: url))   // reachable, and its tables made
                try LabelingStores.set(url, curateDirectory: dot)
                Console.out("labeling state: \(store.location) (recorded in .curate/store)")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Say where the labeling state lives, and its queues.", discussion: "Example:\n  curate store show")
        @OptionGroup var repository: RepositoryOption

        func run() async throws {
            try await reportingErrors {
                let store = try repository.store()
                let queues = try store.queueNames()
                Console.out("labeling state: \(store.location)" + (ProcessInfo.processInfo.environment["CURATE_STORE"].map { _ in " (from CURATE_STORE)" } ?? ""))
                Console.out("queues: " + (queues.isEmpty ? "none" : queues.joined(separator: ", ")))
            }
        }
    }

    struct Unset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Go back to the repository's own SQLite file (the shared database is left as it is).",
            discussion: "Example:\n  curate store unset")
        @OptionGroup var repository: RepositoryOption

        func run() async throws {
            try await reportingErrors {
                try LabelingStores.set(nil, curateDirectory: try repository.open().root + "/.curate")
                Console.out("labeling state: .curate/labeling.sqlite")
            }
        }
    }

    struct Grant: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make PostgreSQL roles annotators or leads of the shared store.",
            discussion: """
                On PostgreSQL the annotator is the database role a session logs in as, not a flag. An annotator \
                (group role curate_annotator) may lease items and answer them, as itself only, and read queues; it \
                cannot read others' answers or skills, change queues, route or export (row-level security). A lead \
                (group role curate_lead, which then owns Curate's tables) may do everything, and may name another \
                annotator with --annotator. Run by the tables' owner or a superuser; the roles must exist \
                (CREATE ROLE ana LOGIN PASSWORD '…').

                Examples:
                  curate store grant lead lead
                  curate store grant annotator ana ben
                """)
        @Argument(help: "annotator or lead.") var role: String
        @Argument(help: "The database roles to grant it to.") var roles: [String]
        @OptionGroup var repository: RepositoryOption

        func run() async throws {
            try await reportingErrors {
                guard let kind = PostgresStore.Role(rawValue: role) else {
                    throw CommandFailure(message: "\(role): expected annotator or lead", kind: .usage)
                }
                guard !roles.isEmpty else { throw CommandFailure(message: "name the roles to make \(role)s", kind: .usage) }
                guard let store = try repository.store() as? PostgresStore else {
                    throw CommandFailure(message: "the labeling state is this repository's SQLite file, which has no roles; curate store set postgres://… first", kind: .usage)
                }
                try store.grant(kind, to: roles)
                Console.out("\(roles.joined(separator: ", ")): \(role)\(roles.count > 1 ? "s" : "") of \(store.location)")
            }
        }
    }

    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move the labeling state to another store (SQLite to PostgreSQL or back), verified, and use it from now on.",
            discussion: """
                Copies every queue, item, lease, answer (with late answers), skill, routing record and workflow run \
                from the store in use into TARGET — a postgres:// URL, or `sqlite` for this repository's \
                .curate/labeling.sqlite — in one transaction that reads the copy back and commits only when every \
                table's row count and SHA-256 checksum match the source; then records TARGET as the repository's \
                store. The source is left as it was. Refused while items are leased (people are labeling) and when \
                the target already holds other state; a rerun after a copy that committed just switches.

                Examples:
                  curate store migrate postgres://lead@db.internal:5432/labels
                  curate store migrate sqlite --json
                """)
        @Argument(help: "postgres://[USER@]HOST[:PORT]/DATABASE, or sqlite.") var target: String
        @Flag(help: "Print JSON: the tables with their rows and checksums.") var json = false
        @OptionGroup var repository: RepositoryOption

        func run() async throws {
            try await reportingErrors {
                let (repo, source) = try repository.openWithStore()
                let dot = repo.root + "/.curate"
                let destination: any LabelingStore = target == "sqlite" ? try SQLiteStore.open(curateDirectory: dot) : try PostgresStore(try PostgresLocation(url: target))
                guard destination.location != source.location else {
                    throw CommandFailure(message: "the labeling state already lives in \(source.location)", kind: .usage)
                }
                let outcome = try StoreMigration.copy(from: source, to: destination)
                try LabelingStores.set(target == "sqlite" ? nil : target, curateDirectory: dot)
                if json {
                    struct Report: Encodable { var from: String, to: String, alreadyThere: Bool, tables: [TableFigures] }
                    return try printJSON(Report(from: source.location, to: destination.location, alreadyThere: outcome.alreadyThere, tables: outcome.figures))
                }
                Console.out(Table(["table", "rows", "sha-256"], outcome.figures.map { [$0.table, String($0.rows), String($0.checksum.prefix(16))] }).text)
                let rows = outcome.figures.reduce(0) { $0 + $1.rows }
                Console.out((outcome.alreadyThere ? "already copied: " : "copied and verified: ") + "\(rows) rows from \(source.location) to \(destination.location); using it from now on")
            }
        }
    }
}
