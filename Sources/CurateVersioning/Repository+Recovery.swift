import CurateCore
import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#endif

/// What `fsck --rebuild` recovered from `.curate/packs` and `.curate/objects`.
package struct RebuildReport: Sendable, Codable {
    /// Objects found through the pack indexes and loose files.
    package var objects: Int
    /// Commits recovered (every commit object whose bytes match its id).
    package var commits: Int
    /// HEAD after the rebuild, if any commit was found.
    package var head: ContentHash?
    /// Tags restored from the ref log.
    package var tags: [String]
    /// Commits no ref reached, tagged `recovered-<id>` so nothing is hidden.
    package var recoveredTags: [String]
    /// Where the old database was moved (kept, never deleted), if there was one.
    package var previousDatabase: String?
    /// Packs without an index (format 1 packs written before the upgrade): their objects cannot be located; the
    /// files are kept.
    package var unindexedPacks: [String]
}

extension Repository {
    /// Rebuilds `.curate/metadata.sqlite` from the objects: commits, trees, labels, schemas, HEAD and tags (from
    /// `refs.log`), then the index of the working tree at HEAD. The old database is moved aside, never deleted.
    /// Working state that lives only in the database — uncommitted labels and item tags — cannot be recovered this
    /// way; the labeling state (`labeling.sqlite`) is another file and is not touched.
    /// - Throws: `.notARepository`, `.locked`, or `.io` when the new database cannot be written.
    package static func rebuildMetadata(at path: String = ".", wait: Double = 0) throws(VersioningError) -> RebuildReport {
        let root = try findRoot(path)
        _ = try formatVersion(of: root)
        let dot = root + "/.curate"
        let lock = try RepositoryLock.acquire(dot + "/lock", wait: wait)
        defer { lock.release() }
        let store = ObjectStore(root: dot)

        // 1. Every object: pack indexes and loose files.
        var entries: [(ContentHash, ObjectLocation)] = []
        var unindexed: [String] = []
        let fm = FileManager.default
        for name in ((try? fm.contentsOfDirectory(atPath: store.packsDirectory)) ?? []).sorted()
        where name.hasPrefix("pack-") && name.hasSuffix(".pack") {
            let pack = store.packsDirectory + "/" + name
            var st = stat()
            guard stat(pack, &st) == 0 else { continue }
            let index = PackIndex.path(forPack: pack)
            guard access(index, F_OK) == 0 else { unindexed.append(name); continue }
            entries += try PackIndex.read(index, pack: name, packSize: Int(st.st_size))
        }
        for prefix in ((try? fm.contentsOfDirectory(atPath: store.objectsDirectory)) ?? []) where prefix.count == 2 {
            for rest in (try? fm.contentsOfDirectory(atPath: store.objectsDirectory + "/" + prefix)) ?? [] {
                var st = stat()
                guard let hash = ContentHash(hex: prefix + rest), stat(store.objectsDirectory + "/" + prefix + "/" + rest, &st) == 0 else { continue }
                entries.append((hash, ObjectLocation(pack: nil, offset: 0, length: Int(st.st_size))))
            }
        }

        // 2. A new database; the old one (if any) is kept beside it.
        let databasePath = dot + "/metadata.sqlite"
        var previous: String?
        if access(databasePath, F_OK) == 0 {
            let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
            let aside = databasePath + ".lost-" + stamp
            for suffix in ["", "-wal", "-shm"] where access(databasePath + suffix, F_OK) == 0 {
                guard rename(databasePath + suffix, aside + suffix) == 0 else {
                    throw VersioningError(.io, "\(databasePath + suffix): cannot move it aside: \(String(cString: strerror(errno)))")
                }
            }
            previous = aside
        }
        let pool = try Metadata.open(databasePath, creating: true)
        let repository = Repository(root: root, metadata: pool, store: store, tree: WorkingTree(root: root))
        let objects = entries
        try repository.write("recording objects") { db in
            try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('created', ?)", arguments: [ISO8601DateFormatter().string(from: Date())])
            try repository.insertObjects(db, [objects])
        }

        // 3. Commits: objects that start like one and whose bytes match their id.
        let reader = try ObjectReader(repository: repository, preload: true)
        let magic = Array("curate-commit 1\n".utf8)
        var commits: [ContentHash: CommitInfo] = [:]
        for (hash, location) in reader.locations where location.length >= magic.count && location.length < (1 << 24) {
            guard store.prefix(hash, at: location, count: magic.count) == magic,
                  let data = try? reader.read(hash), let info = try? CommitInfo.parse(data, id: hash) else { continue }
            commits[hash] = info
        }
        // Parents before children, then by date: the order `seq` records.
        var depthOf: [ContentHash: Int] = [:]
        func depth(_ id: ContentHash) -> Int {
            var chain: [ContentHash] = []
            var current: ContentHash? = id
            while let c = current, depthOf[c] == nil, let info = commits[c] { chain.append(c); current = info.parent }
            var d = current.flatMap { depthOf[$0] } ?? -1
            for c in chain.reversed() { d += 1; depthOf[c] = d }
            return depthOf[id] ?? 0
        }
        let ordered = commits.values.sorted { (depth($0.id), $0.date, $0.id) < (depth($1.id), $1.date, $1.id) }
        try repository.write("recording commits") { db in
            for (seq, info) in ordered.enumerated() {
                try db.execute(sql: "INSERT INTO commits (id, parent, tree, schema, author, date, message, seq, stats) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                               arguments: [info.id.hex, info.parent?.hex, info.tree.hex, info.schema?.hex, info.author,
                                           info.date.timeIntervalSince1970, info.message, seq + 1])
            }
        }
        for info in ordered {
            guard let snapshot = try? repository.snapshot(info.id) else { continue }
            var stats = DatasetStats()
            for path in snapshot.files.keys { stats.addLabels((try? snapshot.annotations(path)) ?? [], schema: snapshot.schema, sign: 1) }
            let sizes = DatasetStats.sizes(of: snapshot.files.values.map { ($0.width, $0.height) })
            stats.files = sizes.files
            stats.sizes = sizes.sizes
            let json = String(decoding: (try? JSONEncoder().encode(stats)) ?? Data("{}".utf8), as: UTF8.self)
            try repository.write("recording stats") { db in
                try db.execute(sql: "UPDATE commits SET stats = ? WHERE id = ?", arguments: [json, info.id.hex])
            }
        }

        // 4. Refs: replay the log, then make sure every commit stays reachable.
        var refs: [String: ContentHash] = [:]
        for entry in RefLog.read(dot) where commits[entry.new] != nil { refs[entry.name] = entry.new }
        func isAncestor(_ a: ContentHash, of b: ContentHash) -> Bool {
            var current: ContentHash? = b
            while let c = current { if c == a { return true }; current = commits[c]?.parent }
            return false
        }
        let parents = Set(commits.values.compactMap(\.parent))
        let tips = commits.values.filter { !parents.contains($0.id) }.sorted { ($0.date, $0.id) > ($1.date, $1.id) }
        if let head = refs["HEAD"] {
            // A commit recorded after its log line failed to be written descends from the logged HEAD.
            if let newer = tips.first(where: { $0.id != head && isAncestor(head, of: $0.id) }) { refs["HEAD"] = newer.id }
        } else if let newest = tips.first {
            refs["HEAD"] = newest.id
        }
        var recovered: [String] = []
        for tip in tips where !refs.values.contains(where: { isAncestor(tip.id, of: $0) }) {
            let name = "recovered-" + tip.id.short(12)
            refs["tag/" + name] = tip.id
            recovered.append(name)
        }
        let finalRefs = refs
        try repository.write("recording refs") { db in
            for (name, id) in finalRefs { try db.execute(sql: "INSERT INTO refs (name, commit_id) VALUES (?, ?)", arguments: [name, id.hex]) }
        }

        // 5. The working index at HEAD: every file is re-hashed by the next status (no stat is trusted).
        if let head = refs["HEAD"] {
            let snapshot = try repository.snapshot(head)
            let schemaJSON = String(decoding: LabelCodec.encodeSchema(snapshot.schema), as: UTF8.self)
            var classes: [ContentHash: String] = [:]
            for (path, entry) in snapshot.files {
                if let labels = entry.labels, classes[labels] == nil {
                    classes[labels] = DatasetStats.classSummary((try? snapshot.annotations(path)) ?? [])
                }
            }
            let topLevel = Set(snapshot.files.keys.map { String($0.split(separator: "/", maxSplits: 1)[0]) })
            let summaries = classes
            try repository.write("recording the working index") { db in
                for root in topLevel.sorted() { try db.execute(sql: "INSERT INTO roots (path) VALUES (?)", arguments: [root]) }
                for (path, entry) in snapshot.files {
                    try db.execute(sql: "INSERT INTO files (path, size, mtime, inode, hash, width, height, committed) VALUES (?, ?, -1, 0, ?, ?, ?, ?)",
                                   arguments: [path, entry.size, entry.hash.hex, entry.width, entry.height, entry.hash.hex])
                    if let labels = entry.labels {
                        try db.execute(sql: "INSERT INTO labels (path, hash, committed) VALUES (?, ?, ?)", arguments: [path, labels.hex, labels.hex])
                    }
                }
                for (hash, summary) in summaries {
                    try db.execute(sql: "INSERT OR IGNORE INTO label_classes (hash, classes) VALUES (?, ?)", arguments: [hash.hex, summary])
                }
                for (folder, hash) in snapshot.folders {
                    try db.execute(sql: "INSERT INTO trees (path, hash) VALUES (?, ?)", arguments: [folder, hash.hex])
                }
                try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('schema', ?)", arguments: [schemaJSON])
                try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('committed_schema', ?)", arguments: [snapshot.commit.schema?.hex ?? "-"])
            }
        }
        try? pool.close()
        return RebuildReport(objects: reader.locations.count, commits: commits.count, head: refs["HEAD"],
                             tags: refs.keys.filter { $0.hasPrefix("tag/") }.map { String($0.dropFirst(4)) }.filter { !$0.hasPrefix("recovered-") }.sorted(),
                             recoveredTags: recovered.sorted(), previousDatabase: previous, unindexedPacks: unindexed)
    }

    /// The folder holding `.curate/`, searching upward from `path`.
    static func findRoot(_ path: String) throws(VersioningError) -> String {
        var current = try canonical(path)
        while true {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: current + "/.curate", isDirectory: &isDirectory), isDirectory.boolValue { return current }
            if current == "/" || current.isEmpty {
                throw VersioningError(.notARepository, "\(path): not inside a Curate repository; run curate init")
            }
            current = (current as NSString).deletingLastPathComponent
        }
    }

    /// Checks that must pass before anything is deleted (`gc`): the database is sound, every ref and every logged
    /// ref move names a recorded commit, and every commit's object is located. A database that lost rows would
    /// otherwise make live history look unreferenced.
    func checkBeforeDeleting() throws(VersioningError) {
        let problems = try read("checking the metadata") { db -> [String] in
            var problems: [String] = []
            let check = try String.fetchAll(db, sql: "PRAGMA quick_check")
            if check != ["ok"] { problems.append("the metadata database is damaged (\(check.prefix(2).joined(separator: "; ")))") }
            let commits = Set(try String.fetchAll(db, sql: "SELECT id FROM commits"))
            for row in try Row.fetchAll(db, sql: "SELECT name, commit_id FROM refs") where !commits.contains(row[1] as String) {
                problems.append("ref \(row[0] as String) names commit \((row[1] as String).prefix(10)), which the metadata lacks")
            }
            for entry in RefLog.read(curateDirectory) where !commits.contains(entry.new.hex) {
                problems.append("the ref log names commit \(entry.new.short()) (\(entry.name)), which the metadata lacks")
                break
            }
            let located = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM commits WHERE id NOT IN (SELECT hash FROM objects)") ?? 0
            if located > 0 { problems.append("\(located) commit(s) have no stored object") }
            return problems
        }
        if let first = problems.first {
            throw VersioningError(.corrupt, "gc refused, nothing was deleted: \(first); run curate fsck (curate fsck --rebuild recovers lost history)")
        }
    }
}

extension ObjectStore {
    /// The first `count` bytes of an object (nil when unreadable), to tell commits from other objects cheaply.
    func prefix(_ hash: ContentHash, at location: ObjectLocation, count: Int) -> [UInt8]? {
        let path = location.pack.map { packsDirectory + "/" + $0 } ?? loosePath(hash)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: count)
        let got = bytes.withUnsafeMutableBytes { preadFully(fd, $0.baseAddress!, count, off_t(location.offset)) }
        return got == count ? bytes : nil
    }
}
