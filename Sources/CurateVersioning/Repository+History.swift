import CurateCore
import Foundation
import GRDB

extension Repository {
    /// The current commit, or nil before the first commit.
    package func head() throws(VersioningError) -> ContentHash? {
        let row = try read("reading HEAD") { db in
            try Row.fetchOne(db, sql: "SELECT refs.commit_id, commits.id FROM refs LEFT JOIN commits ON commits.id = refs.commit_id WHERE refs.name = 'HEAD'")
        }
        guard let row else { return nil }
        let id: String = row[0]
        guard (row[1] as String?) != nil else {
            throw VersioningError(.corrupt, "HEAD names commit \(id.prefix(10)), which is not in the metadata database; run curate fsck")
        }
        return ContentHash(trusted: id)
    }

    /// The id of HEAD, or nil before the first commit.
    package func headID() -> String? { try? resolve("HEAD").hex }

    /// Resolves a revision: `HEAD`, a tag, a remote-tracking ref (`origin/main`), a full or unique short commit id
    /// (4+ hex digits), each optionally
    /// followed by `~N` (N parents back).
    /// - Throws: `.notFound` naming the revision.
    package func resolve(_ revision: String) throws(VersioningError) -> ContentHash {
        var base = revision
        var back = 0
        if let tilde = revision.lastIndex(of: "~") {
            base = String(revision[..<tilde])
            let count = revision[revision.index(after: tilde)...]
            guard let n = count.isEmpty ? 1 : Int(count), n >= 0 else { throw VersioningError(.notFound, "\(revision): bad revision (expected REV~N)") }
            back = n
        }
        var id: ContentHash = try read("resolving \(revision)") { db -> ContentHash in
            if base == "HEAD" {
                guard let head = try String.fetchOne(db, sql: "SELECT commit_id FROM refs WHERE name = 'HEAD'") else {
                    throw VersioningError(.notFound, "HEAD: no commits yet; run curate commit")
                }
                return ContentHash(trusted: head)
            }
            if let tagged = try String.fetchOne(db, sql: "SELECT commit_id FROM refs WHERE name = ?", arguments: ["tag/" + base]) {
                return ContentHash(trusted: tagged)
            }
            // A remote-tracking ref: `origin/main`, `origin/tag/v1`, or `origin` for its main.
            for name in ["remote/" + base, "remote/" + base + "/main"] {
                if let tracked = try String.fetchOne(db, sql: "SELECT commit_id FROM refs WHERE name = ?", arguments: [name]) {
                    return ContentHash(trusted: tracked)
                }
            }
            let lower = base.lowercased()
            guard lower.count >= 4, lower.allSatisfy(\.isHexDigit) else {
                throw VersioningError(.notFound, "\(revision): no such revision (not a tag, HEAD or commit id)")
            }
            let matches = try String.fetchAll(db, sql: "SELECT id FROM commits WHERE id >= ? AND id < ? LIMIT 2",
                                              arguments: [lower, lower + "g"])
            guard matches.count == 1 else {
                throw VersioningError(.notFound, matches.isEmpty ? "\(revision): no such revision" : "\(revision): ambiguous short id; give more digits")
            }
            return ContentHash(trusted: matches[0])
        }
        for step in 0..<back {
            guard let parent = try commitInfo(id).parent else {
                throw VersioningError(.notFound, "\(revision): history has only \(step) commit(s) before \(id.short())")
            }
            id = parent
        }
        return id
    }

    /// A commit's metadata.
    package func commitInfo(_ id: ContentHash) throws(VersioningError) -> CommitInfo {
        let row = try read("reading commit") { db in
            try Row.fetchOne(db, sql: "SELECT tree, schema, parent, author, date, message FROM commits WHERE id = ?", arguments: [id.hex])
        }
        guard let row else { throw VersioningError(.notFound, "commit \(id.short()) not found") }
        return CommitInfo(id: id, tree: ContentHash(trusted: row[0]), schema: (row[1] as String?).flatMap(ContentHash.init(hex:)),
                          parent: (row[2] as String?).map(ContentHash.init(trusted:)), author: row[3],
                          date: Date(timeIntervalSince1970: row[4]), message: row[5])
    }

    /// Commits from `revision` (default HEAD) back to the first, newest first.
    package func log(from revision: String = "HEAD", limit: Int = .max) throws(VersioningError) -> [CommitInfo] {
        guard try head() != nil else { return [] }
        var id: ContentHash? = try resolve(revision)
        var result: [CommitInfo] = []
        while let current = id, result.count < limit {
            let info = try commitInfo(current)
            result.append(info)
            id = info.parent
        }
        return result
    }

    /// Tags: name → commit.
    package func tags() throws(VersioningError) -> [String: ContentHash] {
        try read("reading tags") { db in
            var result: [String: ContentHash] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT name, commit_id FROM refs WHERE name LIKE 'tag/%'") {
                result[String((row[0] as String).dropFirst(4))] = ContentHash(trusted: row[1])
            }
            return result
        }
    }

    /// Names a commit. Tag names use letters, digits, `.`, `_` and `-`, and are never moved.
    /// - Throws: `.invalid` for a bad or existing name.
    @discardableResult
    package func tag(_ name: String, at revision: String = "HEAD", wait: Double = 0) throws(VersioningError) -> ContentHash {
        guard !name.isEmpty, name != "HEAD", name.allSatisfy({ $0.isLetter || $0.isNumber || "._-".contains($0) }), name.allSatisfy(\.isASCII),
              !(name.count >= 4 && name.allSatisfy(\.isHexDigit)) else {
            throw VersioningError(.invalid, "\(name): tag names use letters, digits, '.', '_' and '-' and must not look like a commit id")
        }
        let id = try resolve(revision)
        return try writing(wait: wait) { () throws(VersioningError) -> ContentHash in
            try write("tagging") { db in
                if try String.fetchOne(db, sql: "SELECT commit_id FROM refs WHERE name = ?", arguments: ["tag/" + name]) != nil {
                    throw VersioningError(.invalid, "tag \(name) already exists")
                }
                try db.execute(sql: "INSERT INTO refs (name, commit_id) VALUES (?, ?)", arguments: ["tag/" + name, id.hex])
            }
            try? RefLog.append(curateDirectory, .init(name: "tag/" + name, old: nil, new: id))
            return id
        }
    }

    /// Reads one object through the metadata's location.
    func object(_ hash: ContentHash) throws(VersioningError) -> Data {
        let locate = { () throws(VersioningError) -> Row? in
            try self.read("locating object") { db in
                try Row.fetchOne(db, sql: "SELECT pack, offset, length FROM objects WHERE hash = ?", arguments: [hash.hex])
            }
        }
        var found = try locate()
        if found == nil, MissingObjects.source(for: self) != nil {
            try fetchMissing([hash])
            found = try locate()
        }
        guard let row = found else { throw VersioningError(.corrupt, "object \(hash.short()) is not in the store; run curate fsck") }
        return try store.read(hash, at: ObjectLocation(pack: row[0], offset: row[1] ?? 0, length: row[2]))
    }

    /// A commit's files: path → entry (with labels), walking its trees.
    func snapshot(_ commit: ContentHash, preload: Bool = false) throws(VersioningError) -> Snapshot {
        let info = try commitInfo(commit)
        let reader = try ObjectReader(repository: self, preload: preload)
        var files: [String: TreeEntry] = [:]
        var folders: [String: ContentHash] = [:]
        try reader.walk(info.tree, prefix: "") { path, entry in files[path] = entry } folder: { path, hash in folders[path] = hash }
        let schema = try info.schema.map { (h) throws(VersioningError) in try LabelCodec.decodeSchema(reader.read(h)) }
        return Snapshot(commit: info, files: files, folders: folders, schema: schema ?? LabelSchema(classes: []), reader: reader)
    }
}

/// The files and labels of one commit.
struct Snapshot {
    var commit: CommitInfo
    var files: [String: TreeEntry]
    var folders: [String: ContentHash]
    var schema: LabelSchema
    let reader: ObjectReader

    func annotations(_ path: String) throws(VersioningError) -> [Annotation] {
        guard let hash = files[path]?.labels else { return [] }
        return try LabelCodec.decode(reader.read(hash), item: path)
    }
}

/// Reads many objects, keeping pack files open. Locations are looked up one by one (diff reads few objects) or
/// loaded all at once with `preload` (fsck and gc read them all).
final class ObjectReader {
    let store: ObjectStore
    private(set) var locations: [ContentHash: ObjectLocation]
    private let metadata: DatabasePool
    private let repository: Repository
    private var handles: [String: FileHandle] = [:]

    init(repository: Repository, preload: Bool = false) throws(VersioningError) {
        store = repository.store
        metadata = repository.metadata
        self.repository = repository
        locations = preload ? try repository.read("reading objects") { db in try repository.objectLocations(db) } : [:]
    }

    func location(_ hash: ContentHash) throws(VersioningError) -> ObjectLocation? {
        if let known = locations[hash] { return known }
        let row: Row?
        do {
            row = try metadata.read { db in try Row.fetchOne(db, sql: "SELECT pack, offset, length FROM objects WHERE hash = ?", arguments: [hash.hex]) }
        } catch { throw VersioningError.database(error, "locating object") }
        guard let row else { return nil }
        let location = ObjectLocation(pack: row[0], offset: row[1] ?? 0, length: row[2])
        locations[hash] = location
        return location
    }

    func read(_ hash: ContentHash) throws(VersioningError) -> Data {
        var found = try location(hash)
        if found == nil, MissingObjects.source(for: repository) != nil {
            // A partial clone: fetch it from the remote it came from.
            try repository.fetchMissing([hash])
            found = try location(hash)
        }
        guard let location = found else { throw VersioningError(.corrupt, "object \(hash.short()) is not in the store; run curate fsck") }
        guard let pack = location.pack else { return try store.read(hash, at: location) }
        let handle: FileHandle
        if let open = handles[pack] { handle = open } else {
            guard let opened = FileHandle(forReadingAtPath: store.packsDirectory + "/" + pack) else {
                throw VersioningError(.corrupt, "pack \(pack) is missing (object \(hash.short())); run curate fsck")
            }
            handles[pack] = opened
            handle = opened
        }
        var data = Data(count: location.length)
        let got = data.withUnsafeMutableBytes { preadFully(handle.fileDescriptor, $0.baseAddress!, location.length, off_t(location.offset)) }
        guard got == location.length else { throw VersioningError(.corrupt, "object \(hash.short()) is truncated in pack \(pack); run curate fsck") }
        if ContentHash.of(data) != hash { throw VersioningError(.corrupt, "object \(hash.short()) in pack \(pack) is damaged (its bytes do not match its hash); run curate fsck") }
        return data
    }

    /// Calls `file` for every file entry and `folder` for every folder below `tree`.
    func walk(_ tree: ContentHash, prefix: String, file: (String, TreeEntry) throws(VersioningError) -> Void,
              folder: (String, ContentHash) throws(VersioningError) -> Void) throws(VersioningError) {
        try folder(prefix, tree)
        for entry in try Tree.parse(read(tree), hash: tree).entries {
            let path = prefix.isEmpty ? entry.name : prefix + "/" + entry.name
            switch entry.kind {
            case .file: try file(path, entry)
            case .directory: try walk(entry.hash, prefix: path, file: file, folder: folder)
            }
        }
    }

    deinit { for (_, h) in handles { try? h.close() } }
}

/// A file in a committed version.
package struct VersionedFile: Sendable, Hashable {
    package var path: String
    package var hash: ContentHash
    package var width: Int?
    package var height: Int?
}

extension Repository {
    /// The files of a revision, in path order.
    package func files(at revision: String) throws(VersioningError) -> [VersionedFile] {
        let snapshot = try snapshot(resolve(revision))
        return snapshot.files.map { VersionedFile(path: $0.key, hash: $0.value.hash, width: $0.value.width, height: $0.value.height) }
            .sorted { compareBytes($0.path, $1.path) < 0 }
    }

    /// The bytes of a stored object (a file's content), checked against its hash.
    package func data(of hash: ContentHash) throws(VersioningError) -> Data {
        try object(hash)
    }
}
