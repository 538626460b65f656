import ArgumentParser
import CurateCore
import CurateRemote
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

                With --remote, compares HEAD with a remote's main instead (one read of its ref): what a push \
                would send and a pull would bring.

                Examples:
                  curate status --json
                  curate status --remote origin
                """)

        @Flag(help: "Print JSON.")
        var json = false

        @Option(help: "Compare HEAD with this remote's main.")
        var remote: String?

        @OptionGroup var transfer: TransferOptions

        @OptionGroup var repository: RepositoryOption

        func run() async throws {
            try await reportingErrors {
                let repo = try repository.open()
                if let remote {
                    let status = try RemoteSync.open(repo, remote: remote, transfer: transfer, json: json).status()
                    if json { return try printJSON(status) }
                    guard let theirs = status.commit else {
                        return Console.out("\(status.remote) is empty" + (status.ahead > 0 ? ": a push sends \(status.ahead) commit(s)" : ""))
                    }
                    let at = "\(status.remote)/main is \(theirs.prefix(10))"
                    if status.unknown { return Console.out("\(at), which this repository has not fetched: curate fetch \(status.remote)") }
                    if status.diverged { return Console.out("\(at): HEAD and \(status.remote)/main diverged; curate pull --rebase \(status.remote), then push") }
                    if status.ahead > 0 { return Console.out("\(at): HEAD is \(status.ahead) commit(s) ahead; curate push sends them") }
                    if status.behind > 0 { return Console.out("\(at): HEAD is \(status.behind) commit(s) behind; curate pull brings them") }
                    return Console.out("\(at): up to date with HEAD")
                }
                let status = try repo.status()
                if json { return try printJSON(status) }
                if let head = try repo.head() { Console.out("on commit \(head.short())") } else { Console.out("no commits yet") }
                if let rev = status.checkedOut {
                    Console.out("working tree checked out from \(rev.short()) (curate checkout): the changes below restore it; commit to record that, or curate checkout HEAD to go back")
                }
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
