import CurateCore
import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#endif

/// What an object is, as a remote pack index records it: a fetch takes everything but blobs first, then walks the
/// trees to choose the blobs it needs.
package enum ObjectKind: String, Sendable, CaseIterable {
    case commit, tree, schema, labels, blob
}

/// An object to send or fetch: its id, kind and size.
package struct ObjectEntry: Hashable, Sendable {
    package var hash: ContentHash
    package var kind: ObjectKind
    package var length: Int

    package init(hash: ContentHash, kind: ObjectKind, length: Int) {
        self.hash = hash
        self.kind = kind
        self.length = length
    }
}

/// Fetches objects this repository lacks from where they came from (a partial clone's remote), on demand.
/// CurateRemote installs one; CurateVersioning only calls it.
package protocol MissingObjectSource: Sendable {
    /// Fetches these objects into `repository` (checked and stored), or throws naming what failed.
    func fetch(_ hashes: [ContentHash], into repository: Repository) throws(VersioningError)
}

/// The process's source of missing objects (set once at start-up by the command layer).
package enum MissingObjects {
    nonisolated(unsafe) private static var installed: (@Sendable (Repository) -> (any MissingObjectSource)?)?
    private static let lock = NSLock()

    /// Installs the function that finds a repository's source (its partial clone's remote), or nil for none.
    package static func install(_ finder: @escaping @Sendable (Repository) -> (any MissingObjectSource)?) {
        lock.withLock { installed = finder }
    }

    static func source(for repository: Repository) -> (any MissingObjectSource)? {
        lock.withLock { installed }?(repository)
    }
}

extension Repository {
    /// The `.curate` folder, for modules that keep their own state beside the history (remotes).
    package var stateDirectory: String { curateDirectory }

    /// The commits after `base` up to `head`, oldest first; nil when `base` is not an ancestor of `head`
    /// (the histories diverged). With `base` nil, the whole history.
    package func commits(from head: ContentHash, after base: ContentHash?) throws(VersioningError) -> [CommitInfo]? {
        var chain: [CommitInfo] = []
        var current: ContentHash? = head
        while let id = current, id != base {
            let info = try commitInfo(id)
            chain.append(info)
            current = info.parent
        }
        if base != nil, current == nil { return nil }
        return chain.reversed()
    }

    /// Whether the commit is recorded here.
    package func hasCommit(_ id: ContentHash) throws(VersioningError) -> Bool {
        try read("reading commits") { db in try Bool.fetchOne(db, sql: "SELECT 1 FROM commits WHERE id = ?", arguments: [id.hex]) ?? false }
    }

    /// The objects the `commits` need that are not reachable from `base`, each once, in a stable order (commits
    /// oldest first; within one, its schema, then its trees depth-first with their labels and blobs). The same
    /// inputs give the same list, so an interrupted push rebuilds the same packs.
    /// With `blobs` false, blobs are left out (a partial clone's fetch plan).
    /// With `lengths` false, lengths are left 0 and objects need not be here (checking a partial clone's remote).
    package func objects(of commits: [CommitInfo], excludingReachableFrom base: ContentHash?, lengths: Bool = true) throws(VersioningError) -> [ObjectEntry] {
        let reader = try ObjectReader(repository: self, preload: true)
        var seen = Set<ContentHash>()
        if let base {
            // Everything the base reaches is on the other side already.
            let info = try commitInfo(base)
            seen.insert(base)
            if let schema = info.schema { seen.insert(schema) }
            try reader.walkObjects(info.tree, seen: &seen) { _ in }
        }
        var result: [ObjectEntry] = []
        func length(_ hash: ContentHash) throws(VersioningError) -> Int {
            guard lengths else { return 0 }
            guard let location = try reader.location(hash) else {
                throw VersioningError(.corrupt, "object \(hash.short()) is not in the store; run curate fsck")
            }
            return location.length
        }
        for info in commits {
            if let schema = info.schema, seen.insert(schema).inserted {
                result.append(ObjectEntry(hash: schema, kind: .schema, length: try length(schema)))
            }
            var found: [(ContentHash, ObjectKind)] = []
            try reader.walkObjects(info.tree, seen: &seen) { found.append($0) }
            for (hash, kind) in found { result.append(ObjectEntry(hash: hash, kind: kind, length: try length(hash))) }
            if seen.insert(info.id).inserted {
                result.append(ObjectEntry(hash: info.id, kind: .commit, length: try length(info.id)))
            }
        }
        return result
    }

    /// Reads objects in the given order, each checked against its hash, calling `body` with its bytes.
    package func readObjects(_ hashes: [ContentHash], _ body: (ContentHash, Data) throws(VersioningError) -> Void) throws(VersioningError) {
        let reader = try ObjectReader(repository: self, preload: hashes.count > 256)
        for hash in hashes { try body(hash, reader.read(hash)) }
    }

    /// Part of an object's bytes (a large object sent in parts); the receiver checks the whole object's hash.
    package func objectBytes(_ hash: ContentHash, range: Range<Int>) throws(VersioningError) -> Data {
        guard let location = try ObjectReader(repository: self).location(hash) else {
            throw VersioningError(.corrupt, "object \(hash.short()) is not in the store; run curate fsck")
        }
        guard range.lowerBound >= 0, range.upperBound <= location.length else {
            throw VersioningError(.invalid, "object \(hash.short()) has \(location.length) bytes, not \(range.upperBound)")
        }
        let path = location.pack.map { store.packsDirectory + "/" + $0 } ?? store.loosePath(hash)
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw VersioningError(.corrupt, "\(path): cannot open: \(String(cString: strerror(errno))); run curate fsck") }
        defer { close(fd) }
        var data = Data(count: range.count)
        let got = data.withUnsafeMutableBytes { preadFully(fd, $0.baseAddress!, range.count, off_t(location.offset + range.lowerBound)) }
        guard got == range.count else { throw VersioningError(.corrupt, "object \(hash.short()) is truncated in \(path); run curate fsck") }
        return data
    }

    /// Which of these objects this repository lacks.
    package func missing(_ hashes: some Collection<ContentHash>) throws(VersioningError) -> [ContentHash] {
        if hashes.count > 2048 {
            let known = try read("reading objects") { db in try knownHashes(db) }
            return hashes.filter { !known.contains($0) }
        }
        return try read("reading objects") { db in
            try hashes.filter { try !(Bool.fetchOne(db, sql: "SELECT 1 FROM objects WHERE hash = ?", arguments: [$0.hex]) ?? false) }
        }
    }

    /// Stores objects that came from elsewhere: each is re-hashed first (one that does not match its id is refused,
    /// naming `origin(hash)`, and nothing of the batch is recorded), then appended to one new pack, fsynced and
    /// renamed, then recorded. Commits among them are recorded in the history (parents first), so `log` and `diff`
    /// see them; refs are not moved.
    package func storeObjects(_ objects: [(ContentHash, Data)], origin: (ContentHash) -> String) throws(VersioningError) {
        for (hash, data) in objects where ContentHash.of(data) != hash {
            throw VersioningError(.corrupt, "\(origin(hash)): object \(hash.short()) is damaged (its bytes do not match its hash); nothing was stored")
        }
        let fresh = try Set(missing(objects.map(\.0)))
        guard !fresh.isEmpty else { return }
        let pack = try PackWriter(store: store)
        var added = Set<ContentHash>()
        do throws(VersioningError) {
            for (hash, data) in objects where fresh.contains(hash) && added.insert(hash).inserted {
                try data.withUnsafeBytes { raw in Result { () throws(VersioningError) in try pack.append(hash, raw) } }.get()
            }
            let entries = try pack.finish()
            try write("recording fetched objects") { db in try insertObjects(db, [entries]) }
        } catch {
            pack.abandon()
            throw error
        }
        let magic = Data("curate-commit 1\n".utf8)
        let commits = objects.filter { added.contains($0.0) && $0.1.starts(with: magic) }
        try recordCommits(commits)
    }

    /// Records fetched commit objects in the history with their counts, parents before children.
    private func recordCommits(_ objects: [(ContentHash, Data)]) throws(VersioningError) {
        var pending: [ContentHash: CommitInfo] = [:]
        for (hash, data) in objects { pending[hash] = try CommitInfo.parse(data, id: hash) }
        // Labels rarely change between commits: each label object is decoded once for all of them.
        var decoded: [ContentHash: [Annotation]] = [:]
        while !pending.isEmpty {
            // Those whose parent is recorded (or who have none) go next.
            var ready: [CommitInfo] = []
            for info in pending.values {
                guard let parent = info.parent else { ready.append(info); continue }
                if pending[parent] == nil, try hasCommit(parent) { ready.append(info) }
            }
            ready.sort { ($0.date, $0.id) < ($1.date, $1.id) }
            guard !ready.isEmpty else {
                let orphan = pending.values.first!
                throw VersioningError(.corrupt, "commit \(orphan.id.short()) arrived without its parent \(orphan.parent?.short() ?? "-"); fetch again")
            }
            for info in ready {
                pending[info.id] = nil
                guard try !hasCommit(info.id) else { continue }
                let stats = try countedStats(of: info, decoded: &decoded)
                let json = String(decoding: (try? JSONEncoder().encode(stats)) ?? Data("{}".utf8), as: UTF8.self)
                try write("recording fetched commits") { db in
                    let seq = (try Int.fetchOne(db, sql: "SELECT MAX(seq) FROM commits") ?? 0) + 1
                    try db.execute(sql: "INSERT OR IGNORE INTO commits (id, parent, tree, schema, author, date, message, seq, stats) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                   arguments: [info.id.hex, info.parent?.hex, info.tree.hex, info.schema?.hex, info.author,
                                               info.date.timeIntervalSince1970, info.message, seq, json])
                }
            }
        }
    }

    /// A commit's counts from its trees and labels (sizes come from the trees, so blobs are not needed).
    private func countedStats(of info: CommitInfo, decoded: inout [ContentHash: [Annotation]]) throws(VersioningError) -> DatasetStats {
        let reader = try ObjectReader(repository: self)
        var files: [String: TreeEntry] = [:]
        try reader.walk(info.tree, prefix: "") { path, entry in files[path] = entry } folder: { _, _ in }
        let schema = try info.schema.map { (h) throws(VersioningError) in try LabelCodec.decodeSchema(reader.read(h)) } ?? LabelSchema(classes: [])
        var stats = DatasetStats()
        for (path, entry) in files {
            guard let labels = entry.labels else { continue }
            if decoded[labels] == nil { decoded[labels] = try LabelCodec.decode(reader.read(labels), item: path) }
            stats.addLabels(decoded[labels]!, schema: schema, sign: 1)
        }
        let sizes = DatasetStats.sizes(of: files.values.map { ($0.width, $0.height) })
        stats.files = sizes.files
        stats.sizes = sizes.sizes
        return stats
    }

    /// Refs under a prefix (`remote/origin/`): name → commit.
    package func refs(prefix: String) throws(VersioningError) -> [String: ContentHash] {
        try read("reading refs") { db in
            var result: [String: ContentHash] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT name, commit_id FROM refs WHERE name >= ? AND name < ?", arguments: [prefix, prefix + "\u{10FFFF}"]) {
                result[row[0]] = ContentHash(trusted: row[1])
            }
            return result
        }
    }

    /// Moves (or, with nil, deletes) a remote-tracking ref (`remote/NAME/main`, `remote/NAME/tag/T`). The commit must
    /// be recorded. Logged like HEAD, so `fsck --rebuild` restores it.
    package func setRemoteRef(_ name: String, to commit: ContentHash?, wait: Double = 5) throws(VersioningError) {
        guard name.hasPrefix("remote/") else { throw VersioningError(.invalid, "\(name): not a remote-tracking ref") }
        try writing(wait: wait) { () throws(VersioningError) in
            let old = try refs(prefix: name)[name]
            guard old != commit else { return }
            try write("moving \(name)") { db in
                if let commit {
                    guard try Bool.fetchOne(db, sql: "SELECT 1 FROM commits WHERE id = ?", arguments: [commit.hex]) ?? false else {
                        throw VersioningError(.corrupt, "\(name): commit \(commit.short()) is not recorded")
                    }
                    try db.execute(sql: "INSERT INTO refs (name, commit_id) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET commit_id = excluded.commit_id",
                                   arguments: [name, commit.hex])
                } else {
                    try db.execute(sql: "DELETE FROM refs WHERE name = ?", arguments: [name])
                }
            }
            if let commit { try? RefLog.append(curateDirectory, .init(name: name, old: old, new: commit)) }
        }
    }

    /// Fetches missing objects through the installed source (a partial clone's remote); a no-op when none is missing.
    /// - Throws: `.corrupt` naming an object when there is no source or it cannot provide it.
    package func fetchMissing(_ hashes: [ContentHash]) throws(VersioningError) {
        let lacking = try missing(Set(hashes))
        guard !lacking.isEmpty else { return }
        guard let source = MissingObjects.source(for: self) else {
            throw VersioningError(.corrupt, "object \(lacking[0].short()) is not in the store and no remote is configured to fetch it from; run curate fsck")
        }
        try source.fetch(lacking, into: self)
    }
}

extension ObjectReader {
    /// Every object below a tree not in `seen` (trees, labels, blobs), depth first in name order; a tree already
    /// seen is not entered again.
    func walkObjects(_ tree: ContentHash, seen: inout Set<ContentHash>, _ found: ((ContentHash, ObjectKind)) -> Void) throws(VersioningError) {
        guard seen.insert(tree).inserted else { return }
        found((tree, .tree))
        for entry in try Tree.parse(read(tree), hash: tree).entries {
            switch entry.kind {
            case .directory:
                try walkObjects(entry.hash, seen: &seen, found)
            case .file:
                if let labels = entry.labels, seen.insert(labels).inserted { found((labels, .labels)) }
                if seen.insert(entry.hash).inserted { found((entry.hash, .blob)) }
            }
        }
    }
}
