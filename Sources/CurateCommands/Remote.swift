import ArgumentParser
import CurateCore
import CurateRemote
import CurateVersioning
import Foundation

/// Options shared by the commands that move data to and from a remote.
struct TransferOptions: ParsableArguments {
    @Option(help: "Transfers at once.")
    var jobs: Int = 8

    @Flag(name: [.short, .long], help: "No progress lines.")
    var quiet = false

    @Option(help: "Bytes per pack pushed (a larger file travels alone, in parts).")
    var packSize: Int = 32 << 20

    func validate() throws {
        guard (1...64).contains(jobs) else { throw ValidationError("--jobs must be between 1 and 64") }
        guard packSize >= 4096 else { throw ValidationError("--pack-size must be at least 4096 bytes") }
    }
}

extension RemoteSync {
    /// The sync for a named (or the default) remote of a repository.
    static func open(_ repository: Repository, remote name: String?, transfer: TransferOptions, json: Bool = false) throws -> RemoteSync {
        let config = try RemoteList.load(repository.stateDirectory).remote(name)
        var sync = RemoteSync(repository: repository, remote: config, storage: try config.open())
        sync.jobs = transfer.jobs
        sync.quiet = transfer.quiet || json
        sync.packTarget = transfer.packSize
        return sync
    }
}

/// What push, fetch and pull share: which remote of which repository, how to transfer, and `--json`.
struct RemoteTarget: ParsableArguments {
    @Argument(help: "The remote (default: the default remote).")
    var remote: String?

    @Flag(help: "Print JSON.")
    var json = false

    @OptionGroup var transfer: TransferOptions
    @OptionGroup var repository: RepositoryOption

    func sync() throws -> RemoteSync {
        try RemoteSync.open(try repository.open(), remote: remote, transfer: transfer, json: json)
    }
}

extension Curate {
    struct Remote: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Name the places a dataset is shared through: S3-compatible buckets and shared folders.",
            discussion: """
                A remote is s3://BUCKET/PREFIX (AWS, or any S3-compatible server with --endpoint: MinIO, Ceph, R2, \
                moto) or a folder (file:///PATH or a path: a share or another disk). Remotes are kept in \
                .curate/remotes.json, never in a commit, and never with a secret: credentials come from the AWS \
                conventions (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, or AWS_PROFILE with \
                ~/.aws/credentials and ~/.aws/config), the region from AWS_REGION or the profile, the endpoint from \
                --endpoint, AWS_ENDPOINT_URL or the profile's endpoint_url.

                Examples:
                  curate remote add origin s3://team-data/photos --endpoint http://127.0.0.1:9000
                  curate remote add backup /mnt/share/photos
                  curate remote list
                  curate remote default backup
                  curate remote remove backup
                """,
            subcommands: [Add.self, List.self, RemoveRemote.self, Default.self])

        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Add a remote (the first one added becomes the default).")

            @Argument(help: "Its name (letters, digits, '.', '_', '-').")
            var name: String

            @Argument(help: "s3://BUCKET/PREFIX, file:///PATH or a folder path.")
            var url: String

            @Option(help: "An S3-compatible server, as http(s)://HOST[:PORT] (default: AWS, or AWS_ENDPOINT_URL).")
            var endpoint: String?

            @Option(help: "The bucket's region (default: AWS_REGION, the profile's region, or us-east-1).")
            var region: String?

            @Option(help: "A profile of ~/.aws/credentials for this remote (default: AWS_PROFILE, then 'default').")
            var profile: String?

            @Flag(inversion: .prefixedNo, help: "Path-style addressing (endpoint/bucket/key); the default with --endpoint.")
            var pathStyle: Bool?

            @OptionGroup var repository: RepositoryOption

            func run() async throws {
                try await reportingErrors {
                    let repo = try repository.open()
                    var list = try RemoteList.load(repo.stateDirectory)
                    let (name, url) = try RemoteConfig.validated(name: name, url: url, relativeTo: FileManager.default.currentDirectoryPath)
                    guard !list.remotes.contains(where: { $0.name == name }) else {
                        throw RemoteError(.invalid, "remote \(name) exists already (curate remote remove \(name) first)")
                    }
                    if let endpoint, URL(string: endpoint)?.host == nil || !(endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://")) {
                        throw RemoteError(.invalid, "--endpoint \(endpoint): not an http(s)://HOST[:PORT] URL")
                    }
                    guard url.hasPrefix("s3://") || (endpoint == nil && region == nil && profile == nil) else {
                        throw RemoteError(.invalid, "--endpoint, --region and --profile are for s3:// remotes")
                    }
                    list.remotes.append(RemoteConfig(name: name, url: url, endpoint: endpoint, region: region, pathStyle: pathStyle, profile: profile))
                    if list.defaultRemote == nil { list.defaultRemote = name }
                    try list.save(repo.stateDirectory)
                    Console.out("added remote \(name) → \(url)" + (endpoint.map { " at \($0)" } ?? "") + (list.defaultRemote == name ? " (default)" : ""))
                }
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List the remotes.")

            @Flag(help: "Print JSON.")
            var json = false

            @OptionGroup var repository: RepositoryOption

            func run() async throws {
                try await reportingErrors {
                    let list = try RemoteList.load(try repository.open().stateDirectory)
                    if json { try printJSON(list); return }
                    if list.remotes.isEmpty { Console.out("no remotes (curate remote add NAME URL)") }
                    for remote in list.remotes {
                        var line = "\(remote.name)\t\(remote.url)"
                        if let endpoint = remote.endpoint { line += "\tendpoint \(endpoint)" }
                        if let region = remote.region { line += "\tregion \(region)" }
                        if let profile = remote.profile { line += "\tprofile \(profile)" }
                        if remote.name == list.defaultRemote { line += "\t(default)" }
                        Console.out(line)
                    }
                }
            }
        }

        struct RemoveRemote: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "remove", abstract: "Forget a remote (nothing on it is deleted).")

            @Argument(help: "The remote's name.")
            var name: String

            @OptionGroup var writer: WriterOptions
            @OptionGroup var repository: RepositoryOption

            func run() async throws {
                try await reportingErrors {
                    let repo = try repository.open()
                    var list = try RemoteList.load(repo.stateDirectory)
                    guard list.remotes.contains(where: { $0.name == name }) else { throw RemoteError(.notFound, "no remote named \(name)") }
                    list.remotes.removeAll { $0.name == name }
                    if list.defaultRemote == name { list.defaultRemote = list.remotes.count == 1 ? list.remotes[0].name : nil }
                    try list.save(repo.stateDirectory)
                    for ref in try repo.refs(prefix: "remote/\(name)/").keys { try repo.setRemoteRef(ref, to: nil, wait: writer.wait) }
                    try? FileManager.default.removeItem(atPath: repo.stateDirectory + "/remotes/" + name)
                    Console.out("removed remote \(name)")
                }
            }
        }

        struct Default: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Set the remote push, fetch and pull use when none is named.")

            @Argument(help: "The remote's name.")
            var name: String

            @OptionGroup var repository: RepositoryOption

            func run() async throws {
                try await reportingErrors {
                    let repo = try repository.open()
                    var list = try RemoteList.load(repo.stateDirectory)
                    _ = try list.remote(name)
                    list.defaultRemote = name
                    try list.save(repo.stateDirectory)
                    Console.out("default remote: \(name)")
                }
            }
        }
    }

    struct Push: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send the commits a remote lacks, then move its main to HEAD.",
            discussion: """
                Objects travel in packs of about 32 MiB with an index (a larger file alone, in 16 MiB parts); what to \
                send is decided from the remote's ref and this repository's history, never by listing the bucket. \
                The remote's main moves last, with a conditional write: when someone else pushed first, the push \
                stops with "fetch first" (exit 75) and loses nothing. A push that was interrupted sends only what \
                did not arrive. Transfers run in parallel (--jobs), retry timeouts and server errors with backoff, \
                and show bytes, rate and ETA on a terminal.

                Examples:
                  curate push
                  curate push origin --tags --jobs 16
                """)

        @OptionGroup var target: RemoteTarget

        @Flag(help: "Also push the tags (those HEAD contains).")
        var tags = false

        func run() async throws {
            try await reportingErrors {
                let report = try target.sync().push(tags: tags)
                if target.json { try printJSON(report); return }
                let head = String(report.commit.prefix(10))
                if report.upToDate {
                    Console.out("\(report.remote) is up to date at \(head)" + (report.tags.isEmpty ? "" : "; tags sent: " + report.tags.joined(separator: " ")))
                } else {
                    Console.out("pushed \(report.commits) commit(s) to \(report.remote): \(report.previous.map { String($0.prefix(10)) } ?? "(new)") → \(head); "
                        + "\(report.objects) object(s) in \(report.packsSent + report.packsResumed) pack(s), \(TransferProgress.bytes(report.bytes)) sent"
                        + (report.packsResumed > 0 ? ", \(report.packsResumed) pack(s) already there" : "")
                        + (report.tags.isEmpty ? "" : "; tags: " + report.tags.joined(separator: " ")))
                }
            }
        }
    }

    struct Fetch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Bring a remote's commits, files and labels into the store (HEAD and the working files stay).",
            discussion: """
                Afterwards REMOTE/main names the remote's tip: curate log origin/main, curate diff HEAD origin/main. \
                Every object is re-hashed before it is stored; a damaged one is refused naming its key. A partial \
                clone fetches commits, trees and labels only.

                Examples:
                  curate fetch
                  curate diff HEAD origin/main
                """)

        @OptionGroup var target: RemoteTarget

        func run() async throws {
            try await reportingErrors {
                let report = try target.sync().fetch()
                if target.json { try printJSON(report); return }
                guard let commit = report.commit else { Console.out("\(report.remote) is empty (nothing pushed yet)"); return }
                Console.out("\(report.remote)/main is \(commit.prefix(10)): \(report.commits) new commit(s), \(report.objects) object(s), \(TransferProgress.bytes(report.bytes))"
                    + (report.tags.isEmpty ? "" : "; tags: " + report.tags.joined(separator: " ")))
            }
        }
    }

    struct Pull: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fetch, then move HEAD, the files and the labels forward to the remote's main.",
            discussion: """
                A fast-forward: when HEAD has commits the remote lacks and the remote has commits HEAD lacks (someone \
                pushed first), pull stops (exit 75) and changes nothing; --rebase then replays your commits on the \
                remote's main, path by path (a file or label both sides changed differently is a conflict: nothing \
                changes, exit 64), so the next push goes through. Uncommitted changes that the update would \
                overwrite are refused (exit 64), as checkout refuses them.

                Examples:
                  curate pull
                  curate pull origin --rebase
                """)

        @OptionGroup var target: RemoteTarget

        @Flag(help: "Replay HEAD's commits that the remote lacks on top of its main.")
        var rebase = false

        func run() async throws {
            try await reportingErrors {
                let report = try target.sync().pull(rebase: rebase)
                if target.json { try printJSON(report); return }
                if let replayed = report.rebased, !replayed.isEmpty {
                    Console.out("replayed \(replayed.count) commit(s) on \(report.fetch.remote)/main: "
                        + replayed.map { "\($0.from.short()) → \($0.to.short())" }.joined(separator: ", "))
                }
                guard let commit = report.fetch.commit else { Console.out("\(report.fetch.remote) is empty (nothing pushed yet)"); return }
                guard let moved = report.checkout else { Console.out("already up to date with \(report.fetch.remote)/main (\(commit.prefix(10)))"); return }
                Console.out("HEAD \(moved.from?.short() ?? "(none)") → \(moved.to.short()): \(moved.written) file(s) written, \(moved.removed) removed")
            }
        }
    }

    struct Clone: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a working repository from a remote.",
            discussion: """
                The remote becomes 'origin' (the default remote). --paths and --no-blobs make a partial clone: all \
                commits, trees and labels, but only the files under the given paths (none with --no-blobs); checkout, \
                augment, inspect and labeling sessions then fetch the files they need from origin, when they need them.

                Examples:
                  curate clone s3://team-data/photos photos --endpoint http://127.0.0.1:9000
                  curate clone /mnt/share/photos photos --rev v1
                  curate clone s3://team-data/photos photos --paths images/val
                  curate clone s3://team-data/photos photos --no-blobs
                """)

        @Argument(help: "s3://BUCKET/PREFIX, file:///PATH or a folder path.")
        var url: String

        @Argument(help: "The new repository's folder (new or empty).")
        var directory: String

        @Option(help: "Check out this revision (a commit id, a tag, main) instead of the remote's main.")
        var rev: String?

        @Option(parsing: .upToNextOption, help: "Check out only files matching these globs or folders (a partial clone).")
        var paths: [String] = []

        @Flag(help: "Check out no files (commits, trees and labels only; files come on demand).")
        var noBlobs = false

        @Option(help: "An S3-compatible server, as http(s)://HOST[:PORT].")
        var endpoint: String?

        @Option(help: "The bucket's region.")
        var region: String?

        @Option(help: "A profile of ~/.aws/credentials.")
        var profile: String?

        @Flag(help: "Print JSON.")
        var json = false

        @OptionGroup var transfer: TransferOptions

        func validate() throws {
            if noBlobs && !paths.isEmpty { throw ValidationError("--paths and --no-blobs exclude each other") }
        }

        func run() async throws {
            try await reportingErrors {
                let (_, normalised) = try RemoteConfig.validated(name: "origin", url: url, relativeTo: FileManager.default.currentDirectoryPath)
                let config = RemoteConfig(name: "origin", url: normalised, endpoint: endpoint, region: region, pathStyle: nil, profile: profile)
                let (fetched, moved) = try RemoteSync.clone(config, storage: try config.open(), into: directory, revision: rev,
                                                            sparse: noBlobs ? [] : (paths.isEmpty ? nil : paths),
                                                            jobs: transfer.jobs, quiet: transfer.quiet || json)
                if json { try printJSON(Curate.Pull.Output(fetch: fetched, checkout: moved)); return }
                Console.out("cloned \(normalised) into \(directory) at \(moved.to.short()): \(fetched.commits) commit(s), \(moved.written) file(s)"
                    + (moved.notCheckedOut > 0 ? ", \(moved.notCheckedOut) left on the remote until needed (partial clone)" : ""))
            }
        }
    }
}

extension Curate.Pull {
    struct Output: Encodable {
        var fetch: RemoteSync.FetchReport
        var checkout: FastForwardReport
    }
}
