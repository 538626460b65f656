import ArgumentParser
import CurateCore
import CurateVersioning
import CurateQuality
import Foundation

/// Text rendering of a diff, shared by `diff` and `show`.
enum DiffText {
    static func lines(_ diff: Diff, stat: Bool) -> [String] {
        var out: [String] = []
        out.append("files: \(diff.added.count) added, \(diff.removed.count) removed, \(diff.modified.count) modified, \(diff.renamed.count) renamed")
        if !stat {
            for p in diff.added { out.append("A  \(p)") }
            for p in diff.removed { out.append("D  \(p)") }
            for p in diff.modified { out.append("M  \(p)") }
            for r in diff.renamed { out.append("R  \(r.from) -> \(r.to)") }
        }
        out.append("labels: \(diff.labels.count) items changed")
        if !stat {
            for item in diff.labels {
                var who = item.by.joined(separator: ", ")
                if let date = item.date { who += (who.isEmpty ? "" : ", ") + iso8601(date) }
                out.append("  \(item.item)" + (who.isEmpty ? "" : "  (by \(who))"))
                for change in item.changes { out.append("    \(change)") }
            }
        }
        let shift = diff.shift
        out.append(String(format: "classes (before -> after): chi-square %.2f, df %d, p %.3g; total variation %.3f",
                          shift.chiSquare, shift.degreesOfFreedom, shift.pValue, shift.totalVariation))
        let width = max(8, diff.classes.map(\.name.count).max() ?? 0)
        for c in diff.classes {
            let delta = c.after - c.before
            out.append("  " + c.name.padding(toLength: width, withPad: " ", startingAt: 0)
                + " \(c.before) -> \(c.after)" + (delta == 0 ? "" : " (\(delta > 0 ? "+" : "")\(delta))"))
        }
        let sizes = Set(diff.before.sizes.keys).union(diff.after.sizes.keys).sorted { (diff.after.sizes[$0] ?? 0, $1) > (diff.after.sizes[$1] ?? 0, $0) }
        out.append("image sizes (before -> after), \(diff.before.files) -> \(diff.after.files) files:")
        for size in sizes.prefix(stat ? 5 : 20) {
            out.append("  \(size.padding(toLength: 11, withPad: " ", startingAt: 0)) \(diff.before.sizes[size] ?? 0) -> \(diff.after.sizes[size] ?? 0)")
        }
        if sizes.count > (stat ? 5 : 20) { out.append("  … \(sizes.count - (stat ? 5 : 20)) more sizes") }
        return out
    }
}

extension Curate {
    struct DiffCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "diff",
            abstract: "Show files, labels and class balance changed between versions.",
            discussion: """
                With no revision: the last commit against the working tree and labels. With one: that \
                revision against the working state. With two: A against B.

                Files: added (A), removed (D), modified (M) and renamed (R: same content, new path). Labels, \
                item by item: class a -> b; boxes added, removed, moved (matched by IoU, shown), or given a new \
                class; with who made them and when. Summary: labels per class before and after, with Pearson's \
                chi-square over the 2xK table and the total-variation distance, and the image sizes.

                --html FILE writes a self-contained page: before/after thumbnails of every changed item with \
                boxes in their class colours, the changed labels highlighted, and the class-balance chart.

                Examples:
                  curate diff
                  curate diff v1 HEAD --stat
                  curate diff HEAD~1 HEAD --html review.html
                """)

        @Argument(help: "The older revision (default HEAD).")
        var from: String = "HEAD"

        @Argument(help: "The newer revision (default: the working tree and labels).")
        var to: String?

        @Flag(help: "Counts only: no per-file or per-item lines.")
        var stat = false

        @Flag(help: "Print JSON.")
        var json = false

        @Option(help: "Also write a self-contained HTML review page to this file.")
        var html: String?

        @Option(help: "Exit 65 when a condition holds, e.g. \"tvd>0.1,removed>5%\": tvd (class-balance shift, total variation; 0 when there were no labels before), p (its chi-square p-value), removed / added (files), unlabeled (labeled items lost).")
        var failOn: String?

        @OptionGroup var repository: RepositoryOption

        func run() async throws {
            try await reportingErrors {
                let gates = try failOn.map { text throws(QualityError) in try Gates(text) }
                let repo = try repository.open()
                let diff = try repo.diff(from: from, to: to, labelDetails: !stat || html != nil || gates != nil)
                if let gates {
                    let before = Double(max(diff.before.files, 1)), labeled = Double(max(diff.before.labeledItems, 1))
                    let lost = Double(max(0, diff.before.labeledItems - diff.after.labeledItems))
                    let metrics: [String: Double] = [
                        // A first labeling shifts nothing: with no labels before, tvd is 0.
                        "tvd": diff.before.classCounts.isEmpty ? 0 : diff.shift.totalVariation, "p": diff.shift.pValue,
                        "removed": Double(diff.removed.count), "removed%": Double(diff.removed.count) / before,
                        "added": Double(diff.added.count), "added%": Double(diff.added.count) / before,
                        "unlabeled": lost, "unlabeled%": lost / labeled,
                    ]
                    let failed = try gates.failures(metrics)
                    if !failed.isEmpty {
                        if !json { for line in DiffText.lines(diff, stat: true) { Console.out(line) } }
                        throw CommandFailure(message: "gate failed: " + failed.joined(separator: "; "), kind: .invalidData)
                    }
                }
                if let html {
                    let page = try DiffPage.render(diff, repository: repo)
                    do { try Data(page.utf8).write(to: URL(fileURLWithPath: html), options: .atomic) } catch {
                        throw CommandFailure(message: "\(html): cannot write: \(error.localizedDescription)", kind: .internal)
                    }
                }
                if json { return try printJSON(diff) }
                Console.out("diff \(String(diff.from.prefix(10))) -> \(diff.to == "working" ? "working tree" : String(diff.to.prefix(10)))")
                for line in DiffText.lines(diff, stat: stat) { Console.out(line) }
                if let html { Console.out("wrote \(html)") }
            }
        }
    }

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

    struct Fsck: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every object's hash, every commit's trees and the metadata database; rebuild a lost database.",
            discussion: """
                Exits 65 and names each damaged object, pack, commit or ref, or a metadata database that is missing,
                empty or damaged. --rebuild recovers the history from the objects after such a loss: commits, trees,
                labels, schemas, HEAD and tags (from .curate/refs.log); commits no ref reaches are tagged
                recovered-<id>. The old database is moved aside, never deleted. Uncommitted labels and item tags lived
                only in the database and are not recovered, so a database that passes fsck is rebuilt only with
                --force. Queues, answers, routing and workflow runs are in .curate/labeling.sqlite and are kept.

                Examples:
                  curate fsck
                  curate fsck --rebuild
                """)

        @Flag(help: "Print JSON.")
        var json = false

        @Flag(help: "Rebuild .curate/metadata.sqlite from the objects (the old file is kept beside it).")
        var rebuild = false

        @Flag(help: "With --rebuild: rebuild even a database that passes fsck (its uncommitted labels and item tags are dropped).")
        var force = false

        @OptionGroup var writer: WriterOptions
        @OptionGroup var repository: RepositoryOption

        func run() async throws {
            try await reportingErrors {
                if rebuild {
                    // A sound database holds state the objects do not (uncommitted labels, item tags): keep it unless asked.
                    if !force, let healthy = try? repository.open().fsck(), healthy.isHealthy {
                        throw CommandFailure(message: "the metadata database passes fsck; --rebuild would drop its uncommitted labels and item tags (pass --force to rebuild anyway)", kind: .usage)
                    }
                    let report = try Repository.rebuildMetadata(at: repository.path, wait: writer.wait)
                    if json { try printJSON(report); return }
                    if let previous = report.previousDatabase { Console.out("kept the old database as \(previous)") }
                    for pack in report.unindexedPacks { Console.warning("pack \(pack) has no index (format 1): its objects cannot be located; the file is kept") }
                    Console.out("rebuilt the metadata from \(report.objects) objects: \(report.commits) commits, HEAD \(report.head?.short() ?? "none"), "
                        + "\(report.tags.count) tag(s)" + (report.recoveredTags.isEmpty ? "" : ", recovered: " + report.recoveredTags.joined(separator: " ")))
                    return
                }
                let report: FsckReport
                do {
                    report = try repository.open().fsck()
                } catch let error as VersioningError where error.code == .corrupt {
                    // A repository that cannot be opened is fsck's finding, not its failure.
                    report = FsckReport(objectsChecked: 0, commitsChecked: 0, problems: [error.message])
                }
                if json { try printJSON(report) } else {
                    for problem in report.problems { Console.error(problem) }
                    Console.out("checked \(report.objectsChecked) objects and \(report.commitsChecked) commits: "
                        + (report.isHealthy ? "no problems" : "\(report.problems.count) problem(s)"))
                }
                if !report.isHealthy { throw ExitCode(ExitCodes.dataError) }
            }
        }
    }

    struct GC: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gc",
            abstract: "Remove objects that no commit or tracked file refers to.",
            discussion: "Leftovers of interrupted operations are removed; mostly-dead packs are rewritten.\n\nExample:\n  curate gc")

        @OptionGroup var writer: WriterOptions
        @OptionGroup var repository: RepositoryOption

        func run() async throws {
            try await reportingErrors {
                let repo = try repository.open()
                let report = try repo.gc(wait: writer.wait)
                Console.out("removed \(report.objectsRemoved) objects and \(report.packsRemoved) packs, rewrote \(report.packsRewritten) packs, freed \(report.bytesFreed) bytes")
            }
        }
    }
}
