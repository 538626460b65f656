import ArgumentParser
import CurateCore
import CurateStore
import CurateVersioning
import Foundation

extension Curate {
    struct Commit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record a snapshot of the tracked files and their labels.",
            discussion: """
                The commit id is the SHA-256 of the commit's content; folders are Merkle trees, so a commit \
                costs in proportion to what changed. A commit killed at any instant leaves the repository \
                at the old commit or the new one.

                Example:
                  curate commit -m "relabel round 3" --author ana
                """)

        @Option(name: .shortAndLong, help: "The commit message.")
        var message: String

        @Option(help: "Who made the change (default: $USER).")
        var author: String?

        @OptionGroup var writer: WriterOptions
        @OptionGroup var repository: RepositoryOption

        @Flag(help: "Print JSON.")
        var json = false

        @Flag(help: "Succeed without a commit when nothing changed (for workflows).")
        var ifChanged = false

        func run() async throws {
            try await reportingErrors {
                let repo = try repository.open()
                let who = author ?? ProcessInfo.processInfo.environment["USER"] ?? "unknown"
                if ifChanged, try repo.status().isClean { return Console.out("nothing to commit, working tree and labels match") }
                let info = try repo.commit(message: message, author: who, wait: writer.wait)
                if json { return try printJSON(info) }
                Console.out("[\(info.id.short())] \(message.split(separator: "\n").first.map(String.init) ?? "")")
            }
        }
    }
}
