import ArgumentParser
import CurateCore
import CurateVersioning
import CurateQuality
import Foundation

extension Curate {
    struct Checkout: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Materialise a version, or part of it.",
            discussion: """
                Without --to, restores the working files and labels to REV in place (HEAD stays where it is, so \
                `curate status` shows the restore; commit it to record a revert). Uncommitted changes to the \
                affected files or labels are never overwritten without --force.

                With --to DIR, writes REV's files into DIR (new or empty, unless --force). --paths limits either \
                to glob patterns or folders; with --to, --where tag=NAME limits it to the items carrying a \
                repository item tag (see curate triage).

                Examples:
                  curate checkout v1 --to /tmp/v1
                  curate checkout HEAD~2 --paths 'images/*.jpg'
                """)

        @Argument(help: "The revision.")
        var revision: String

        @Option(help: "Write the files into this folder instead of the working tree.")
        var to: String?

        @Option(parsing: .upToNextOption, help: "Glob patterns or folders to restrict the checkout to.")
        var paths: [String] = []

        @Option(name: .customLong("where"), help: "With --to: only the items with this item tag, as tag=NAME.")
        var condition: String?

        @Flag(help: "Overwrite uncommitted changes, or write into a non-empty folder.")
        var force = false

        @OptionGroup var writer: WriterOptions
        @OptionGroup var repository: RepositoryOption

        func validate() throws {
            if let condition {
                guard condition.hasPrefix("tag="), condition.count > 4 else { throw ValidationError("--where takes tag=NAME") }
                guard to != nil else { throw ValidationError("--where needs --to DIR") }
            }
        }

        func run() async throws {
            try await reportingErrors {
                let repo = try repository.open()
                var paths = self.paths
                if let condition {
                    let tag = String(condition.dropFirst(4))
                    let tagged = try repo.items(tagged: tag)
                    guard !tagged.isEmpty else { throw CommandFailure(message: "no item is tagged \(tag)", kind: .notFound) }
                    paths += tagged
                }
                let report = try repo.checkout(revision, to: to, paths: paths, force: force, wait: writer.wait)
                var line = "checked out \(report.commit.short()): \(report.written) files written"
                if to == nil { line += ", \(report.unchanged) unchanged, \(report.removed) removed, labels of \(report.labels) items restored" }
                Console.out(line)
            }
        }
    }
}
