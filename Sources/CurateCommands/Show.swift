import ArgumentParser
import CurateCore
import CurateVersioning
import CurateQuality
import Foundation

extension Curate {
    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a commit and what it changed from its parent.",
            discussion: "Examples:\n  curate show\n  curate show v1 --json")

        @Argument(help: "The revision (default HEAD).")
        var revision: String = "HEAD"

        @Flag(help: "Print JSON.")
        var json = false

        @OptionGroup var repository: RepositoryOption

        func run() async throws {
            try await reportingErrors {
                let repo = try repository.open()
                let id = try repo.resolve(revision)
                let info = try repo.commitInfo(id)
                let diff: Diff? = try info.parent.map { try repo.diff(from: $0.hex, to: id.hex) }
                if json {
                    struct Shown: Encodable { var commit: CommitInfo; var changes: Diff? }
                    return try printJSON(Shown(commit: info, changes: diff))
                }
                let tags = try repo.tags().filter { $0.value == id }.map(\.key).sorted()
                for line in commitHeader(info, tags: tags) + [""] { Console.out(line) }
                if let diff { for line in DiffText.lines(diff, stat: false) { Console.out(line) } } else { Console.out("(first commit)") }
            }
        }
    }
}
