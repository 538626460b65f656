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

                An in-place checkout of a whole revision is remembered: `curate status` says what is checked out, \
                and checking out HEAD (or another revision) again needs no --force unless you changed something \
                since. A commit clears it.

                With --to DIR, writes REV's files into DIR (new or empty, unless --force) and their labels beside \
                them: DIR/labels.jsonl by default, --labels-format coco|yolo|voc|csv|jsonl for another format, \
                --labels-out PATH for another place, --no-labels for the files only. Item paths in the labels are \
                the files' paths inside DIR. --paths limits either to glob patterns or folders; with --to, --where \
                tag=NAME limits it to the items carrying a repository item tag (see curate triage).

                Examples:
                  curate checkout v1 --to /tmp/v1
                  curate checkout v1 --to /tmp/v1-coco --labels-format coco
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

        @Option(help: "With --to: the labels' format (default jsonl).")
        var labelsFormat: LabelFormat = .jsonl

        @Option(help: "With --to: where the labels go (default DIR/labels.jsonl, DIR/labels.json for coco, DIR/labels for yolo and voc, DIR/labels.csv).")
        var labelsOut: String?

        @Flag(help: "With --to: write the files only.")
        var noLabels = false

        @Flag(help: "Overwrite uncommitted changes, or write into a non-empty folder.")
        var force = false

        @OptionGroup var writer: WriterOptions
        @OptionGroup var repository: RepositoryOption

        func validate() throws {
            if to == nil, labelsOut != nil || noLabels { throw ValidationError("--labels-out and --no-labels go with --to DIR (in place, labels are restored in the repository)") }
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
                var out: String?
                if let to, !noLabels {
                    let name = ["jsonl": "labels.jsonl", "coco": "labels.json", "csv": "labels.csv"][labelsFormat.rawValue] ?? "labels"
                    out = labelsOut ?? (to as NSString).appendingPathComponent(name)
                    // The labels must not land on a file of the checkout.
                    let inside = labelsOut == nil ? name : nil
                    if let inside, try repo.files(at: revision).contains(where: { $0.path == inside || $0.path.hasPrefix(inside + "/") }) {
                        throw CommandFailure(message: "\(inside) is a file of \(revision): choose --labels-out PATH (nothing was written)", kind: .usage)
                    }
                }
                // The labels of the files to write, item paths as inside DIR; a format that cannot hold them fails here,
                // before any file is written.
                var labels: LabelSet?
                if out != nil {
                    let set = try repo.labels(at: revision, paths: paths)
                    let trial = NSTemporaryDirectory() + "curate-labels-check-" + UUID().uuidString
                    defer { try? FileManager.default.removeItem(atPath: trial) }
                    try labelsFormat.writeAtomically(set, to: trial)
                    labels = set
                }
                let report = try repo.checkout(revision, to: to, paths: paths, force: force, wait: writer.wait)
                var line = "checked out \(report.commit.short()): \(Plural.count(report.written, "file")) written"
                if to == nil { line += ", \(report.unchanged) unchanged, \(report.removed) removed, labels of \(Plural.count(report.labels, "item")) restored" }
                if let out, let labels {
                    try labelsFormat.writeAtomically(labels, to: out)
                    line += "; labels of \(Plural.count(labels.items.count, "item")) (\(labels.annotations.count) annotations) in \(out) (\(labelsFormat.rawValue))"
                }
                Console.out(line)
            }
        }
    }
}
