import CurateCore
import CurateVersioning
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Moves a repository's history to and from one remote: `push`, `fetch`, `pull`, `clone`, and checks of what the
/// remote holds. Objects travel in packs with indexes; refs name the packs their history needs, so deciding what
/// to send or fetch reads the ref and the (cached) indexes, never a listing of the bucket.
package struct RemoteSync: Sendable {
    package var repository: Repository
    package var remote: RemoteConfig
    package var storage: any RemoteStorage
    /// Transfers at once.
    package var jobs = 8
    /// Objects go into packs of about this many bytes; a larger object travels alone (multipart on S3).
    package var packTarget = 32 << 20
    /// No progress lines (`--quiet`, `--json`).
    package var quiet = false

    package init(repository: Repository, remote: RemoteConfig, storage: any RemoteStorage) {
        self.repository = repository
        self.remote = remote
        self.storage = storage
    }

    /// Local state for this remote: cached pack indexes and multipart uploads to resume.
    var stateFolder: String { repository.stateDirectory + "/remotes/" + remote.name }

    func wrap<T>(_ body: () throws(VersioningError) -> T) throws(RemoteError) -> T {
        do { return try body() } catch { throw RemoteError.wrap(error) }
    }

    func key(_ k: String) -> String { storage.location + (storage.location.hasSuffix("/") ? "" : "/") + k }

    // MARK: - Refs

    /// The remote's main ref with its entity tag (nil when the remote has none yet).
    func readRef(_ name: String) throws(RemoteError) -> (ref: RemoteRef, etag: String)? {
        guard let (data, etag) = try storage.get(name, range: nil) else { return nil }
        return (try RemoteRef.parse(data, key: key(name)), etag)
    }

    // MARK: - Status

    package struct RemoteStatus: Sendable, Codable {
        package var remote: String
        /// The remote's main (nil for an empty remote).
        package var commit: String?
        /// Commits HEAD has that the remote lacks (what a push sends).
        package var ahead: Int
        /// Commits the remote has that HEAD lacks, when they are known here (after a fetch).
        package var behind: Int
        /// The remote has commits this repository has never fetched.
        package var unknown: Bool
        /// HEAD and the remote both have commits the other lacks.
        package var diverged: Bool
    }

    /// HEAD against the remote's main, from one read of its ref: what a push would send, what a pull would bring.
    package func status() throws(RemoteError) -> RemoteStatus {
        let head = try wrap { () throws(VersioningError) in try repository.head() }
        var result = RemoteStatus(remote: remote.name, commit: nil, ahead: 0, behind: 0, unknown: false, diverged: false)
        guard let main = try readRef(RemoteLayout.main) else {
            if let head { result.ahead = try wrap { () throws(VersioningError) in try repository.commits(from: head, after: nil)?.count ?? 0 } }
            return result
        }
        let theirs = main.ref.commit
        result.commit = theirs.hex
        guard try wrap({ () throws(VersioningError) in try repository.hasCommit(theirs) }) else {
            result.unknown = true
            return result
        }
        guard let head else {
            result.behind = try wrap { () throws(VersioningError) in try repository.commits(from: theirs, after: nil)?.count ?? 0 }
            return result
        }
        if let ahead = try wrap({ () throws(VersioningError) in try repository.commits(from: head, after: theirs) }) {
            result.ahead = ahead.count
        } else if let behind = try wrap({ () throws(VersioningError) in try repository.commits(from: theirs, after: head) }) {
            result.behind = behind.count
        } else {
            result.diverged = true
        }
        return result
    }

    // MARK: - Push

    package struct PushReport: Sendable, Codable {
        package var remote: String
        package var commit: String
        package var previous: String?
        package var upToDate: Bool
        package var commits: Int
        package var objects: Int
        package var bytes: Int
        package var packsSent: Int
        /// Packs an interrupted push had already sent (not sent again).
        package var packsResumed: Int
        package var tags: [String]
    }

    /// Sends the commits the remote lacks and moves its main ref to HEAD with a conditional write.
    /// - Throws: `.conflict` ("fetch first") when the remote has commits HEAD does not descend from, or when
    ///   someone else moved the ref while this push ran.
    package func push(tags pushTags: Bool = false) throws(RemoteError) -> PushReport {
        guard let head = try wrap({ () throws(VersioningError) in try repository.head() }) else {
            throw RemoteError(.invalid, "nothing to push: this repository has no commits yet")
        }
        let current = try readRef(RemoteLayout.main)
        var report = PushReport(remote: remote.name, commit: head.hex, previous: current?.ref.commit.hex, upToDate: false, commits: 0,
                                objects: 0, bytes: 0, packsSent: 0, packsResumed: 0, tags: [])
        var packs = current?.ref.packs ?? []
        if current?.ref.commit != head {
            let base = current?.ref.commit
            if let base {
                let known = try wrap { () throws(VersioningError) in try repository.hasCommit(base) }
                guard known, let _ = try wrap({ () throws(VersioningError) in try repository.commits(from: head, after: base) }) else {
                    throw RemoteError(.conflict, "push rejected: \(remote.name) has commits that HEAD does not contain (its main is \(base.short())): fetch first (curate fetch \(remote.name)), then pull and push again")
                }
            }
            let commits = try wrap { () throws(VersioningError) in try repository.commits(from: head, after: base) ?? [] }
            let objects = try wrap { () throws(VersioningError) in try repository.objects(of: commits, excludingReachableFrom: base) }
            let sent = try sendPacks(objects)
            report.commits = commits.count
            report.objects = objects.count
            report.bytes = sent.bytes
            report.packsSent = sent.sent
            report.packsResumed = sent.resumed
            packs += sent.names.filter { !packs.contains($0) }
            let ref = RemoteRef(commit: head, packs: packs)
            do {
                try storage.put(RemoteLayout.main, ref.serialized(), condition: current.map { .matches($0.etag) } ?? .absent)
            } catch where error.code == .conflict {
                throw RemoteError(.conflict, "push rejected: \(remote.name)'s main moved while this push ran (someone else pushed first): fetch first (curate fetch \(remote.name)), then pull and push again; the objects sent stay and are not sent again")
            }
            if current == nil { try storage.put(RemoteLayout.marker, Data(RemoteLayout.markerText.utf8), condition: .none) }
            unlink(stateFolder + "/push-plan")
        } else {
            report.upToDate = true
        }
        try wrap { () throws(VersioningError) in try repository.setRemoteRef("remote/\(remote.name)/main", to: head) }
        if pushTags {
            let local = try wrap { () throws(VersioningError) in try repository.tags() }
            for (name, commit) in local.sorted(by: { $0.key < $1.key }) {
                // A tag goes up with the packs of main's history when main contains its commit.
                guard try wrap({ () throws(VersioningError) in try repository.commits(from: head, after: commit) }) != nil || commit == head else { continue }
                if let existing = try readRef(RemoteLayout.tagsPrefix + name) {
                    guard existing.ref.commit == commit else {
                        throw RemoteError(.conflict, "tag \(name) is at \(existing.ref.commit.short()) on \(remote.name) but at \(commit.short()) here; tags never move")
                    }
                    continue
                }
                let ref = RemoteRef(commit: commit, packs: packs)
                try storage.put(RemoteLayout.tagsPrefix + name, ref.serialized(), condition: .absent)
                try wrap { () throws(VersioningError) in try repository.setRemoteRef("remote/\(remote.name)/tag/\(name)", to: commit) }
                report.tags.append(name)
            }
        }
        return report
    }

    /// Packs the objects (in order, about `packTarget` bytes each; an object larger than that alone) and sends the
    /// packs the remote lacks, each before its index. The same objects give the same packs, so a push that was
    /// interrupted finds what it sent already and sends only the rest.
    func sendPacks(_ objects: [ObjectEntry]) throws(RemoteError) -> (names: [String], sent: Int, resumed: Int, bytes: Int) {
        var groups: [[ObjectEntry]] = []
        var current: [ObjectEntry] = []
        var size = 0
        for object in objects {
            if !current.isEmpty && (size + object.length > packTarget || object.length >= packTarget) {
                groups.append(current)
                current = []
                size = 0
            }
            current.append(object)
            size += object.length
        }
        if !current.isEmpty { groups.append(current) }
        let planned = groups.map { RemotePackIndex.make($0) }
        let packed = groups
        // An interrupted push left its plan behind: the packs of it that are on the remote now (one HEAD each, for
        // those only) are not sent again. A push with no plan behind it sends everything without asking.
        try? FileManager.default.createDirectory(atPath: stateFolder, withIntermediateDirectories: true)
        let plan = stateFolder + "/push-plan"
        let earlier = Set(((try? String(contentsOfFile: plan, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init))
        do { try Data(planned.map { $0.index.name + "\n" }.joined().utf8).write(to: URL(fileURLWithPath: plan), options: .atomic) } catch {
            throw RemoteError(.io, "\(plan): cannot write: \(error.localizedDescription)")
        }
        final class Flags: @unchecked Sendable { var present: [Bool]; let lock = NSLock(); init(_ n: Int) { present = Array(repeating: false, count: n) } }
        let flags = Flags(planned.count)
        let storage = self.storage
        let toCheck = planned.indices.filter { earlier.contains(planned[$0].index.name) }
        try parallel(jobs: jobs, count: toCheck.count) { (n) throws(RemoteError) in
            let i = toCheck[n]
            let there = try storage.size(RemoteLayout.indexKey(planned[i].index.name)) != nil
            flags.lock.withLock { flags.present[i] = there }
        }
        let toSend = planned.indices.filter { !flags.present[$0] }
        let total = toSend.reduce(0) { $0 + planned[$1].index.size }
        let progress = TransferProgress("push \(remote.name)", total: total, quiet: quiet)
        let repository = self.repository
        let uploads = stateFolder + "/uploads"
        try? FileManager.default.createDirectory(atPath: uploads, withIntermediateDirectories: true)
        let packTarget = self.packTarget
        try parallel(jobs: jobs, count: toSend.count) { (n) throws(RemoteError) in
            let (index, text) = planned[toSend[n]]
            let entries = packed[toSend[n]]
            func bytes(_ slice: ArraySlice<ObjectEntry>) throws(RemoteError) -> Data {
                var data = Data()
                data.reserveCapacity(slice.reduce(0) { $0 + $1.length })
                do throws(VersioningError) {
                    try repository.readObjects(slice.map(\.hash)) { _, bytes in data.append(bytes) }
                } catch { throw RemoteError.wrap(error) }
                return data
            }
            if entries.count == 1 && entries[0].length >= packTarget {
                // One large object: sent in parts, resumable.
                let hash = entries[0].hash
                try storage.putLarge(RemoteLayout.packKey(index.name), size: entries[0].length, resumeFile: uploads + "/" + index.name,
                                     part: { (range) throws(RemoteError) -> Data in
                                         do throws(VersioningError) { return try repository.objectBytes(hash, range: range) } catch { throw RemoteError.wrap(error) }
                                     }, sent: { progress.add($0) })
            } else {
                let data = try bytes(entries[...])
                try storage.put(RemoteLayout.packKey(index.name), data, condition: .none)
                progress.add(data.count)
            }
            try storage.put(RemoteLayout.indexKey(index.name), text, condition: .none)
        }
        if !toSend.isEmpty { progress.finish() }
        // The indexes go into the local cache too: a later fetch or status need not download what this push wrote.
        let cache = stateFolder + "/idx"
        try? FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        for (index, text) in planned { try? text.write(to: URL(fileURLWithPath: cache + "/" + index.name + ".idx"), options: .atomic) }
        return (planned.map(\.index.name), toSend.count, planned.count - toSend.count, total)
    }

    // MARK: - Fetch

    package struct FetchReport: Sendable, Codable {
        package var remote: String
        /// The remote's main (nil for an empty remote).
        package var commit: String?
        package var commits: Int
        package var objects: Int
        package var bytes: Int
        package var tags: [String]
    }

    /// Brings the remote's commits, trees and labels (and, unless this is a partial clone, its blobs) into the local
    /// store, each object re-hashed before it is written, then moves `remote/NAME/main` and the remote's tags.
    package func fetch(blobs: Bool? = nil) throws(RemoteError) -> FetchReport {
        var report = FetchReport(remote: remote.name, commit: nil, commits: 0, objects: 0, bytes: 0, tags: [])
        guard let main = try readRef(RemoteLayout.main) else { return report }
        var refs: [(String, RemoteRef)] = [("main", main.ref)]
        for key in try storage.list(prefix: RemoteLayout.tagsPrefix) {
            if let tag = try readRef(key) { refs.append(("tag/" + key.dropFirst(RemoteLayout.tagsPrefix.count), tag.ref)) }
        }
        let packNames = Array(Set(refs.flatMap(\.1.packs))).sorted()
        let indexes = try loadIndexes(packNames)
        let partial = try wrap { () throws(VersioningError) in try repository.sparsePaths() } != nil
        let wantBlobs = blobs ?? !partial
        var wanted: [ContentHash: (String, RemotePackIndex.Entry)] = [:]
        for index in indexes {
            for entry in index.entries where wantBlobs || entry.kind != .blob { wanted[entry.hash] = (index.name, entry) }
        }
        let lacking = try wrap { () throws(VersioningError) in try repository.missing(Array(wanted.keys)) }
        // Metadata first, in one batch (commits are recorded with their trees and labels present), then blobs.
        let metadata = lacking.filter { wanted[$0]!.1.kind != .blob }
        let blobsNeeded = lacking.filter { wanted[$0]!.1.kind == .blob }
        let total = (metadata + blobsNeeded).reduce(0) { $0 + wanted[$1]!.1.length }
        let progress = TransferProgress("fetch \(remote.name)", total: total, quiet: quiet)
        try download(metadata.map { wanted[$0]! }, progress: progress, batch: true)
        try download(blobsNeeded.map { wanted[$0]! }, progress: progress, batch: false)
        if total > 0 { progress.finish() }
        report.objects = lacking.count
        report.bytes = total
        let before = try wrap { () throws(VersioningError) in try repository.refs(prefix: "remote/\(remote.name)/main")["remote/\(remote.name)/main"] }
        if before != main.ref.commit {
            let chain = try wrap { () throws(VersioningError) in try repository.commits(from: main.ref.commit, after: before) }
            report.commits = chain?.count ?? 0
        }
        let localTags = try wrap { () throws(VersioningError) in try repository.tags() }
        for (name, ref) in refs {
            try wrap { () throws(VersioningError) in try repository.setRemoteRef("remote/\(remote.name)/\(name)", to: ref.commit) }
            guard name.hasPrefix("tag/") else { continue }
            let tag = String(name.dropFirst(4))
            report.tags.append(tag)
            // The remote's tags become local tags, as git fetch does; a local tag of the same name is kept.
            if localTags[tag] == nil { _ = try? repository.tag(tag, at: ref.commit.hex, wait: 5) }
        }
        report.commit = main.ref.commit.hex
        return report
    }

    /// The indexes of these packs: from the local cache (`.curate/remotes/NAME/idx/`), else downloaded, checked
    /// against their names and cached.
    func loadIndexes(_ names: [String]) throws(RemoteError) -> [RemotePackIndex] {
        let folder = stateFolder + "/idx"
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        final class Found: @unchecked Sendable { var indexes: [RemotePackIndex?]; let lock = NSLock(); init(_ n: Int) { indexes = Array(repeating: nil, count: n) } }
        let found = Found(names.count)
        let storage = self.storage
        let location = storage.location
        try parallel(jobs: jobs, count: names.count) { (i) throws(RemoteError) in
            let name = names[i]
            let cached = folder + "/" + name + ".idx"
            let key = RemoteLayout.indexKey(name)
            let index: RemotePackIndex
            if let data = FileManager.default.contents(atPath: cached), let parsed = try? RemotePackIndex.parse(data, name: name, key: cached) {
                index = parsed
            } else {
                guard let (data, _) = try storage.get(key, range: nil) else {
                    throw RemoteError(.corrupt, "\(location)/\(key) is missing: a ref names a pack whose index is not on the remote (curate fsck --remote)")
                }
                index = try RemotePackIndex.parse(data, name: name, key: location + "/" + key)
                try? data.write(to: URL(fileURLWithPath: cached), options: .atomic)
            }
            found.lock.withLock { found.indexes[i] = index }
        }
        return found.indexes.compactMap { $0 }
    }

    /// Downloads objects from their packs: a whole pack when most of it is wanted, else byte ranges of nearby
    /// objects; every object is re-hashed, and a damaged one is refused naming the pack's key.
    /// With `batch`, everything is stored at once at the end (commits need their trees and labels stored first).
    func download(_ wanted: [(String, RemotePackIndex.Entry)], progress: TransferProgress, batch: Bool) throws(RemoteError) {
        guard !wanted.isEmpty else { return }
        var byPack: [String: [RemotePackIndex.Entry]] = [:]
        var empty: [(ContentHash, Data)] = []
        for (pack, entry) in wanted {
            // An empty object (an empty file) needs no request: its bytes are known, its hash is still checked.
            if entry.length == 0 { empty.append((entry.hash, Data())) } else { byPack[pack, default: []].append(entry) }
        }
        // Runs of objects close together become one ranged GET (up to 32 MiB).
        var runs: [(pack: String, range: ClosedRange<Int>, entries: [RemotePackIndex.Entry])] = []
        for (pack, entries) in byPack.sorted(by: { $0.key < $1.key }) {
            var run: [RemotePackIndex.Entry] = []
            for entry in entries.sorted(by: { $0.offset < $1.offset }) {
                if let first = run.first, let last = run.last,
                   entry.offset - (last.offset + last.length) > 256 << 10 || entry.offset + entry.length - first.offset > 32 << 20 {
                    runs.append((pack, first.offset...(last.offset + last.length - 1), run))
                    run = []
                }
                run.append(entry)
            }
            if let first = run.first, let last = run.last { runs.append((pack, first.offset...(last.offset + last.length - 1), run)) }
        }
        let requests = runs
        final class Collected: @unchecked Sendable { var objects: [(ContentHash, Data)] = []; let lock = NSLock() }
        let collected = Collected()
        let storage = self.storage
        let repository = self.repository
        let location = storage.location
        collected.objects = empty
        if !batch && !empty.isEmpty {
            try wrap { () throws(VersioningError) in try repository.storeObjects(empty) { _ in "\(location) (an empty object)" } }
            collected.objects = []
        }
        try parallel(jobs: jobs, count: requests.count) { (i) throws(RemoteError) in
            let request = requests[i]
            let key = RemoteLayout.packKey(request.pack)
            guard let (data, _) = try storage.get(key, range: request.range) else {
                throw RemoteError(.corrupt, "\(location)/\(key) is missing from the remote (curate fsck --remote)")
            }
            guard data.count == request.range.count else {
                throw RemoteError(.corrupt, "\(location)/\(key): got \(data.count) bytes for bytes \(request.range.lowerBound)-\(request.range.upperBound): the pack is truncated")
            }
            var objects: [(ContentHash, Data)] = []
            for entry in request.entries {
                let start = entry.offset - request.range.lowerBound
                guard start >= 0, start + entry.length <= data.count else {
                    throw RemoteError(.corrupt, "\(location)/\(key): object \(entry.hash.short()) lies outside the bytes fetched: the index is damaged")
                }
                let bytes = data.subdata(in: start..<(start + entry.length))
                // One request at a time, storeObjects re-hashes each object and names this key; a batch (stored
                // later, all at once) is checked here so that a failure still names its pack.
                guard !batch || ContentHash.of(bytes) == entry.hash else {
                    throw RemoteError(.corrupt, "\(location)/\(key): object \(entry.hash.short()) is damaged (its bytes do not match its hash); nothing was written")
                }
                objects.append((entry.hash, bytes))
            }
            if batch {
                collected.lock.withLock { collected.objects += objects }
            } else {
                do throws(VersioningError) { try repository.storeObjects(objects) { _ in location + "/" + key } } catch { throw RemoteError.wrap(error) }
            }
            progress.add(request.entries.reduce(0) { $0 + $1.length })
        }
        if batch {
            try wrap { () throws(VersioningError) in try repository.storeObjects(collected.objects) { _ in location } }
        }
    }

    // MARK: - Pull

    package struct PullReport: Sendable, Codable {
        package var fetch: FetchReport
        package var checkout: FastForwardReport?
        /// With `rebase`: the local commits replayed on the remote's main.
        package var rebased: [RebaseReport.Replayed]?
    }

    /// Fetch, then move HEAD and the working files and labels forward to the remote's main.
    /// - Throws: `.invalid` when the histories diverged or uncommitted changes are in the way (nothing moves).
    package func pull(rebase: Bool = false) throws(RemoteError) -> PullReport {
        let fetched = try fetch()
        if rebase, let commit = fetched.commit.flatMap(ContentHash.init(hex:)) {
            do {
                let done = try repository.rebase(onto: commit)
                return PullReport(fetch: fetched, checkout: done.checkout, rebased: done.replayed)
            } catch {
                throw RemoteError.wrap(error)
            }
        }
        guard let commit = fetched.commit.flatMap(ContentHash.init(hex:)) else { return PullReport(fetch: fetched, checkout: nil) }
        if let head = try wrap({ () throws(VersioningError) in try repository.head() }),
           try wrap({ () throws(VersioningError) in try repository.commits(from: head, after: commit) }) != nil {
            // HEAD is ahead of the remote: nothing to bring in (push sends it).
            return PullReport(fetch: fetched, checkout: nil)
        }
        do {
            return PullReport(fetch: fetched, checkout: try repository.fastForward(to: commit))
        } catch {
            if error.code == .invalid {
                throw RemoteError(.conflict, "cannot pull: HEAD and \(remote.name)/main diverged (both have commits the other lacks): curate pull --rebase replays yours on theirs")
            }
            throw RemoteError.wrap(error)
        }
    }

    // MARK: - Clone

    /// Makes a working repository in `directory` (new or empty) from a remote: `origin` becomes its default remote,
    /// then fetch and a fast-forward to `revision` (default the remote's main). With `sparse`, a partial clone.
    /// A failed clone leaves nothing behind (the folder it made, or the contents it added to an empty one).
    package static func clone(_ config: RemoteConfig, storage: any RemoteStorage, into directory: String, revision: String?,
                              sparse: [String]?, jobs: Int, quiet: Bool) throws(RemoteError) -> (fetch: FetchReport, checkout: FastForwardReport) {
        if let existing = try? FileManager.default.contentsOfDirectory(atPath: directory), !existing.isEmpty {
            throw RemoteError(.invalid, "\(directory): folder is not empty; clone into a new or empty folder")
        }
        // Nothing is made locally until the remote answers.
        guard try storage.size(RemoteLayout.main) != nil else {
            throw RemoteError(.notFound, "\(storage.location): no Curate history there (nothing pushed yet, or a wrong URL)")
        }
        let createdFolder = !FileManager.default.fileExists(atPath: directory)
        let repository: Repository
        do { repository = try Repository.initialize(at: directory) } catch { throw RemoteError.wrap(error) }
        do throws(RemoteError) {
            var list = RemoteList()
            list.remotes = [config]
            list.defaultRemote = config.name
            try list.save(repository.stateDirectory)
            var sync = RemoteSync(repository: repository, remote: config, storage: storage)
            sync.jobs = jobs
            sync.quiet = quiet
            let fetched = try sync.fetch(blobs: sparse == nil)
            let moved = try sync.wrap { () throws(VersioningError) -> FastForwardReport in
                let target = try repository.resolve(revision.map { $0 == "main" ? "\(config.name)/main" : $0 } ?? "\(config.name)/main")
                return try repository.fastForward(to: target, sparse: .some(sparse))
            }
            return (fetched, moved)
        } catch {
            let fm = FileManager.default
            if createdFolder { try? fm.removeItem(atPath: directory) } else {
                for name in (try? fm.contentsOfDirectory(atPath: repository.root)) ?? [] { try? fm.removeItem(atPath: repository.root + "/" + name) }
            }
            throw error
        }
    }

    // MARK: - Checks

    package struct RemoteCheck: Sendable, Codable {
        package var remote: String
        package var refs: Int
        package var packs: Int
        package var objects: Int
        package var rehashed: Int
        package var problems: [String]
    }

    /// Checks that everything each remote ref reaches is on the remote: its packs and indexes are there and whole,
    /// and the indexes hold every object the history names (as far as this repository knows the history). With
    /// `deep`, every pack is downloaded and every object re-hashed.
    package func check(deep: Bool) throws(RemoteError) -> RemoteCheck {
        var result = RemoteCheck(remote: remote.name, refs: 0, packs: 0, objects: 0, rehashed: 0, problems: [])
        var refs: [(String, RemoteRef)] = []
        if let main = try readRef(RemoteLayout.main) { refs.append((RemoteLayout.main, main.ref)) }
        for key in try storage.list(prefix: RemoteLayout.tagsPrefix) { if let t = try readRef(key) { refs.append((key, t.ref)) } }
        result.refs = refs.count
        let names = Array(Set(refs.flatMap(\.1.packs))).sorted()
        result.packs = names.count
        var indexes: [String: RemotePackIndex] = [:]
        for name in names {
            // Checked on the remote itself (not the local cache).
            guard let (data, _) = try storage.get(RemoteLayout.indexKey(name), range: nil) else {
                result.problems.append("\(key(RemoteLayout.indexKey(name))) is missing")
                continue
            }
            do throws(RemoteError) { indexes[name] = try RemotePackIndex.parse(data, name: name, key: key(RemoteLayout.indexKey(name))) } catch {
                result.problems.append(error.message)
                continue
            }
            let size = try storage.size(RemoteLayout.packKey(name))
            if size == nil { result.problems.append("\(key(RemoteLayout.packKey(name))) is missing") }
            else if let size, size != indexes[name]!.size { result.problems.append("\(key(RemoteLayout.packKey(name))) holds \(size) bytes, its index says \(indexes[name]!.size)") }
        }
        var onRemote: [ContentHash: (String, RemotePackIndex.Entry)] = [:]
        for (name, index) in indexes { for e in index.entries { onRemote[e.hash] = (name, e) } }
        result.objects = onRemote.count
        for (refKey, ref) in refs {
            guard try wrap({ () throws(VersioningError) in try repository.hasCommit(ref.commit) }) else {
                if onRemote[ref.commit] == nil { result.problems.append("\(key(refKey)) names commit \(ref.commit.short()), which no pack of it holds") }
                continue
            }
            let reachable = try wrap { () throws(VersioningError) in
                try repository.objects(of: repository.commits(from: ref.commit, after: nil) ?? [], excludingReachableFrom: nil, lengths: false)
            }
            let missing = reachable.filter { onRemote[$0.hash] == nil }
            if let first = missing.first {
                result.problems.append("\(key(refKey)) reaches \(missing.count) object(s) the remote lacks (first: \(first.kind.rawValue) \(first.hash.short()))")
            }
        }
        if deep {
            final class Problems: @unchecked Sendable { var list: [String] = []; var count = 0; let lock = NSLock() }
            let problems = Problems()
            let storage = self.storage
            let location = storage.location
            let all = indexes.values.sorted { $0.name < $1.name }
            try parallel(jobs: jobs, count: all.count) { (i) throws(RemoteError) in
                let index = all[i]
                let k = RemoteLayout.packKey(index.name)
                guard let (data, _) = try storage.get(k, range: nil) else { return }
                for entry in index.entries {
                    guard entry.offset + entry.length <= data.count,
                          ContentHash.of(data.subdata(in: entry.offset..<(entry.offset + entry.length))) == entry.hash else {
                        problems.lock.withLock { problems.list.append("\(location)/\(k): object \(entry.hash.short()) is damaged (its bytes do not match its hash)") }
                        continue
                    }
                    problems.lock.withLock { problems.count += 1 }
                }
            }
            result.problems += problems.list.sorted()
            result.rehashed = problems.count
        }
        return result
    }
}

/// Fetches the blobs a partial clone lacks from its remote, when a checkout or a labeling session needs them.
package struct RemoteObjectSource: MissingObjectSource {
    package var remote: RemoteConfig
    package var environment: [String: String]

    package init(remote: RemoteConfig, environment: [String: String]) {
        self.remote = remote
        self.environment = environment
    }

    package func fetch(_ hashes: [ContentHash], into repository: Repository) throws(VersioningError) {
        do throws(RemoteError) {
            var sync = RemoteSync(repository: repository, remote: remote, storage: try remote.open(environment: environment))
            sync.quiet = hashes.count < 64
            guard let main = try sync.readRef(RemoteLayout.main) else {
                throw RemoteError(.notFound, "\(remote.name) is empty: objects \(hashes[0].short())… cannot be fetched")
            }
            let indexes = try sync.loadIndexes(main.ref.packs)
            var where_: [ContentHash: (String, RemotePackIndex.Entry)] = [:]
            for index in indexes { for e in index.entries { where_[e.hash] = (index.name, e) } }
            let wanted = Set(hashes)
            let found = wanted.compactMap { where_[$0] }
            if found.count < wanted.count, let lost = wanted.first(where: { where_[$0] == nil }) {
                throw RemoteError(.notFound, "object \(lost.short()) is neither here nor on \(remote.name) (\(sync.storage.location))")
            }
            let progress = TransferProgress("fetch \(remote.name)", total: found.reduce(0) { $0 + $1.1.length }, quiet: sync.quiet)
            try sync.download(found, progress: progress, batch: false)
            progress.finish()
        } catch {
            throw VersioningError(error.code == .corrupt ? .corrupt : .io, error.message)
        }
    }

    /// The source for a partial clone's repository (its default remote), or nil for a full repository.
    package static func finder(environment: [String: String]) -> @Sendable (Repository) -> (any MissingObjectSource)? {
        { repository in
            guard (try? repository.sparsePaths()) != nil,
                  let list = try? RemoteList.load(repository.stateDirectory), let remote = try? list.remote(nil) else { return nil }
            return RemoteObjectSource(remote: remote, environment: environment)
        }
    }
}
