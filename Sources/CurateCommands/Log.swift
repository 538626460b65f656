import ArgumentParser
import CurateCore
import CurateStore
import CurateVersioning
import Foundation

extension Curate {
    struct Log: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List commits, newest first.",
            discussion: "Example:\n  curate log -n 5\n  curate log --json")

        @Argument(help: "Start from this revision.")
        var revision: String = "HEAD"

        @Option(name: .customShort("n"), help: "At most this many commits.")
        var count: Int?

        @Flag(help: "Print JSON.")
        var json = false

        @OptionGroup var repository: RepositoryOption

        func run() async throws {
            try await reportingErrors {
                let repo = try repository.open()
                let commits = try repo.log(from: revision, limit: count ?? .max)
                if json { return try printJSON(commits) }
                let tags = Dictionary(grouping: try repo.tags(), by: \.value).mapValues { $0.map(\.key).sorted() }
                for (i, c) in commits.enumerated() {
                    if i > 0 { Console.out("") }
                    for line in commitHeader(c, tags: tags[c.id] ?? []) { Console.out(line) }
                }
            }
        }
    }
}
