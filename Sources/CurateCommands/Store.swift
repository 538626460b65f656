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
                """,
            subcommands: [SetStore.self, Show.self, Unset.self],
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
}
