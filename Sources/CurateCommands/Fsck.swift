import ArgumentParser
import CurateCore
import CurateVersioning
import CurateQuality
import CurateRemote
import Foundation

extension Curate {
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

                With --remote NAME, checks the remote instead: every pack its refs name is there with its index and \
                the right size, and the indexes hold every object the history reaches; --deep downloads every pack \
                and re-hashes every object.

                Examples:
                  curate fsck
                  curate fsck --rebuild
                  curate fsck --remote origin --deep
                """)

        @Flag(help: "Print JSON.")
        var json = false

        @Flag(help: "Rebuild .curate/metadata.sqlite from the objects (the old file is kept beside it).")
        var rebuild = false

        @Option(help: "Check this remote instead of the local repository.")
        var remote: String?

        @Flag(help: "With --remote: download every pack and re-hash every object.")
        var deep = false

        @OptionGroup var transfer: TransferOptions

        @Flag(help: "With --rebuild: rebuild even a database that passes fsck (its uncommitted labels and item tags are dropped).")
        var force = false

        @OptionGroup var writer: WriterOptions
        @OptionGroup var repository: RepositoryOption

        func run() async throws {
            try await reportingErrors {
                if let remote {
                    let sync = try RemoteSync.open(try repository.open(), remote: remote, transfer: transfer, json: json)
                    let report = try sync.check(deep: deep)
                    if json { try printJSON(report) } else {
                        for problem in report.problems { Console.error(problem) }
                        Console.out("checked \(report.remote): \(report.refs) ref(s), \(report.packs) pack(s), \(report.objects) object(s)"
                            + (deep ? ", \(report.rehashed) re-hashed" : "") + ": " + (report.problems.isEmpty ? "no problems" : "\(report.problems.count) problem(s)"))
                    }
                    if !report.problems.isEmpty { throw ExitCode(ExitCodes.dataError) }
                    return
                }
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
}
