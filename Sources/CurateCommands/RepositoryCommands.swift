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

extension Curate {
    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a Curate repository (.curate/) in a folder.",
            discussion: """
                The repository holds a content-addressed object store (SHA-256) and an SQLite metadata \
                database (WAL mode). Its on-disk format version is in .curate/FORMAT.

                Example:
                  curate init datasets/photos
                """)

        @Argument(help: "The dataset folder (default: the current folder).")
        var directory: String = "."

        func run() async throws {
            try await reportingErrors {
                let repo = try Repository.initialize(at: directory)
                Console.out("initialised an empty Curate repository in \(repo.root)/.curate")
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Track files and folders, and import labels.",
            discussion: """
                Files are hashed on every core; a file whose size, mtime and inode are unchanged since Curate \
                last saw it is not read again. Each content is stored once. Folders stay tracked: new files \
                in them show up in `curate status` and go into the next commit.

                --labels imports a label file (--format coco|yolo|voc|csv|jsonl, detected when omitted); its item paths are relative \
                to --images (default: the label file's folder). Every labeled item must be a tracked file. \
                Classes are merged into the repository's schema by name.

                --link decides how the store and the working folder share bytes: copy (default), hardlink \
                (no extra space; the files become read-only, so edit by replacing them), or reflink \
                (copy-on-write clone where the file system supports it, else a copy).

                Symlinks to files inside the repository are tracked as those files' content; symlinks \
                leaving the repository, names with control characters and names that are not UTF-8 are refused, \
                and nothing is recorded.

                Examples:
                  curate add images --labels labels.coco.json --format coco
                  curate add . --link hardlink
                """)

        @Argument(help: "Files or folders inside the repository.")
        var paths: [String] = []

        @Option(help: "A label file or folder to import.")
        var labels: String?

        @Option(help: "The label format: coco, yolo, voc, csv or jsonl.")
        var format: LabelFormat?

        @Option(help: "The folder the label file's item paths are relative to.")
        var images: String?

        @Flag(help: "Skip invalid label records and list them.")
        var lenient = false

        @Option(help: "copy, hardlink or reflink.")
        var link: LinkMode = .copy

        @OptionGroup var writer: WriterOptions
        @OptionGroup var repository: RepositoryOption

        @Flag(help: "Print the report as JSON.")
        var json = false

        func validate() throws {
            if paths.isEmpty, labels == nil { throw ValidationError("give paths to add, or --labels") }
        }

        func run() async throws {
            try await reportingErrors {
                let repo = try repository.open()
                let labelImport = try labels.map { path -> LabelImport in
                    LabelImport(path: path, format: try labelFormat(format, of: path), imagesRoot: images, lenient: lenient)
                }
                let report = try repo.add(paths, labels: labelImport, link: link, wait: writer.wait)
                if json { return try printJSON(report) }
                for issue in report.skipped { Console.warning("skipped \(issue)") }
                var line = "tracking \(report.files) files (\(report.hashed) hashed, \(report.storedObjects) new objects)"
                if labelImport != nil { line += "; labels for \(report.labeledItems) items" }
                if report.reflinkFallbacks > 0 { line += "; \(report.reflinkFallbacks) copied (no reflink support)" }
                Console.out(line)
            }
        }
    }

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

    struct Tag: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Name a commit (or list tags).",
            discussion: "Examples:\n  curate tag v1\n  curate tag baseline HEAD~2\n  curate tag")

        @Argument(help: "The tag name; omit to list tags.")
        var name: String?

        @Argument(help: "The revision to tag.")
        var revision: String = "HEAD"

        @OptionGroup var writer: WriterOptions
        @OptionGroup var repository: RepositoryOption

        func run() async throws {
            try await reportingErrors {
                let repo = try repository.open()
                guard let name else {
                    for (tag, id) in try repo.tags().sorted(by: { $0.key < $1.key }) { Console.out("\(tag)\t\(id.short())") }
                    return
                }
                let id = try repo.tag(name, at: revision, wait: writer.wait)
                Console.out("tagged \(id.short()) as \(name)")
            }
        }
    }
}
extension LinkMode: ExpressibleByArgument {}
