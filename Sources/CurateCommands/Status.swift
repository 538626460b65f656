import ArgumentParser
import CurateCore
import CurateStore
import CurateVersioning
import Foundation

extension Curate {
    struct StatusCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "Show files and labels changed since the last commit.",
            discussion: """
                Lists added, modified, deleted and renamed files (a rename is the same content at a new \
                path) and items whose labels changed. Reads only: it never waits for a writer.

                Example:
                  curate status --json
                """)

        @Flag(help: "Print JSON.")
        var json = false

        @OptionGroup var repository: RepositoryOption

        func run() async throws {
            try await reportingErrors {
                let repo = try repository.open()
                let status = try repo.status()
                if json { return try printJSON(status) }
                if let head = try repo.head() { Console.out("on commit \(head.short())") } else { Console.out("no commits yet") }
                if status.isClean { return Console.out("nothing to commit, working tree and labels match") }
                for p in status.added { Console.out("added:     \(p)") }
                for p in status.modified { Console.out("modified:  \(p)") }
                for p in status.deleted { Console.out("deleted:   \(p)") }
                for r in status.renamed { Console.out("renamed:   \(r.from) -> \(r.to)") }
                for p in status.labelsChanged { Console.out("labels:    \(p)") }
                if status.schemaChanged { Console.out("schema:    classes changed") }
            }
        }
    }
}
