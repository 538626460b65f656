import ArgumentParser
import CurateCore
import CurateStore
import CurateVersioning
import Foundation

/// Options every command that changes a repository shares.
struct WriterOptions: ParsableArguments {
    @Option(help: "Seconds to wait for another writer's lock before failing with exit 75.")
    var wait: Double = 0
}

/// Opens the repository around the current folder (or `--repo`).
package struct RepositoryOption: ParsableArguments {
    package init() {}

    @Option(name: .customLong("repo"), help: "The repository folder (default: the one containing the current folder).")
    package var path: String = "."

    package func open() throws -> Repository { try Repository.open(at: path) }

    /// The repository and its labeling store (queues, answers, routing, workflow runs).
    package func openWithStore() throws -> (Repository, any LabelingStore) {
        let repo = try open()
        return (repo, try LabelingStores.open(curateDirectory: repo.root + "/.curate"))
    }

    /// The repository's labeling store.
    package func store() throws -> any LabelingStore { try openWithStore().1 }
}

func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    Console.out(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// `commit ID (tag: …)`, author, date, a blank line and the indented message, as `log` and `show` print them.
func commitHeader(_ c: CommitInfo, tags: [String]) -> [String] {
    var lines = ["commit \(c.id.hex)" + (tags.isEmpty ? "" : " (tag: \(tags.joined(separator: ", ")))"), "Author: \(c.author)",
                 "Date:   \(iso8601(c.date))", ""]
    lines += c.message.split(separator: "\n", omittingEmptySubsequences: false).map { "    \($0)" }
    return lines
}

/// ISO 8601 for display (a value-type format style: Sendable, and no ICU formatter to build per call).
func iso8601(_ date: Date) -> String { date.formatted(.iso8601) }

extension LinkMode: ExpressibleByArgument {}
