import CurateCore
import Foundation
import GRDB
import GRDBSQLite

extension Repository {
    /// Snapshots every tracked file and the working labels as a new commit whose parent is HEAD.
    ///
    /// Contents not yet stored are stored; only folders with a changed entry get a new tree object, so the cost
    /// follows what changed. All new objects are written to one pack, fsynced and renamed, before a single
    /// database transaction moves HEAD: a commit killed at any instant leaves HEAD at the old commit or the new one.
    /// - Throws: `.invalid` when nothing changed, `.locked` when another writer holds the lock past `wait`.
    @discardableResult
    package func commit(message: String, author: String, date: Date = Date(), wait: Double = 0) throws(VersioningError) -> CommitInfo {
        guard !author.contains("\n") else { throw VersioningError(.invalid, "--author must be one line") }
        return try writing(wait: wait) { () throws(VersioningError) -> CommitInfo in
            let index = try read("reading the index") { db in try Index.load(db, labelBodies: true) }
            let known = try read("reading objects") { db in try knownHashes(db) }
            var state = try workingState(index, store: true, known: known)
            let status = Self.status(index: index, state: state)
            if status.isClean && index.head != nil {
                throw VersioningError(.invalid, "nothing to commit: the working tree and labels match HEAD")
            }
            let pack = try PackWriter(store: store)
            var objects = state.packs
            do throws(VersioningError) {
                var stored = known
                for pack in state.packs { for (hash, _) in pack { stored.insert(hash) } }
                func put(_ data: Data) throws(VersioningError) -> ContentHash {
                    let hash = ContentHash.of(data)
                    if stored.insert(hash).inserted {
                        try data.withUnsafeBytes { raw in Result { () throws(VersioningError) in try pack.append(hash, raw) } }.get()
                    }
                    return hash
                }
                // Labels of present files.
                var labelOf: [String: ContentHash] = [:]
                // Label bodies were hashed when imported: store the new ones under that id.
                for (path, row) in index.labels {
                    guard state.contents[path] != nil, let hash = row.hash else { continue }
                    if stored.insert(hash).inserted {
                        guard let body = row.body else { throw VersioningError(.corrupt, "labels of '\(path)' have no body in the metadata; run curate fsck") }
                        try body.withUnsafeBytes { raw in Result { () throws(VersioningError) in try pack.append(hash, raw) } }.get()
                    }
                    labelOf[path] = hash
                }
                // Labels follow a rename (same content, new path) unless the new path has labels of its own.
                var movedLabels: [(from: String, to: String)] = []
                for r in status.renamed where index.labels[r.to] == nil {
                    if let row = index.labels[r.from], let body = row.body, row.hash != nil {
                        labelOf[r.to] = try put(body)
                        movedLabels.append((r.from, r.to))
                    }
                }
                let schemaHash = try index.schema.map { (s) throws(VersioningError) in try put(LabelCodec.encodeSchema(s)) }
                let stats = try nextStats(index: index, state: state, labelOf: labelOf, bodies: { path in
                    if let moved = movedLabels.first(where: { $0.to == path }) { return index.labels[moved.from]?.body }
                    return index.labels[path]?.body
                })
                // Folders to rebuild: those holding a changed file or label, and their ancestors.
                var dirty = Set<String>()
                func markDirty(_ path: String) {
                    var dir = parentDirectory(path)
                    while dirty.insert(dir).inserted, !dir.isEmpty { dir = parentDirectory(dir) }
                }
                for p in status.added + status.modified + status.deleted + status.labelsChanged { markDirty(p) }
                for r in status.renamed { markDirty(r.from); markDirty(r.to) }
                let previousTrees = try read("reading trees") { db in
                    try Dictionary(uniqueKeysWithValues: Row.fetchAll(db, sql: "SELECT path, hash FROM trees").map { ($0[0] as String, ContentHash(trusted: $0[1])) })
                }
                if index.head == nil { dirty.insert("") }
                // Group present files by folder.
                var children: [String: [TreeEntry]] = [:]
                var folders = Set<String>([""])
                for (path, content) in state.contents {
                    let dir = parentDirectory(path)
                    var d = dir
                    while folders.insert(d).inserted, !d.isEmpty { d = parentDirectory(d) }
                    guard dirty.contains(dir) else { continue }
                    children[dir, default: []].append(TreeEntry(kind: .file, name: lastComponent(path), hash: content.hash, size: content.size,
                                                                width: content.width, height: content.height, labels: labelOf[path]))
                }
                // Build bottom-up: deepest folders first.
                var treeHashes: [String: ContentHash] = [:]
                let subfolders = Dictionary(grouping: folders.filter { !$0.isEmpty }, by: parentDirectory)
                for folder in folders.sorted(by: { depth($0) > depth($1) }) {
                    if !dirty.contains(folder), let previous = previousTrees[folder] {
                        treeHashes[folder] = previous
                        continue
                    }
                    var entries = children[folder] ?? []
                    for sub in subfolders[folder] ?? [] {
                        entries.append(TreeEntry(kind: .directory, name: lastComponent(sub), hash: treeHashes[sub]!))
                    }
                    treeHashes[folder] = try put(Tree(entries: entries).serialized())
                }
                let parentSeq = try read("reading commits") { db in try Int.fetchOne(db, sql: "SELECT MAX(seq) FROM commits") ?? 0 }
                let info = CommitInfo(id: ContentHash(trusted: String(repeating: "0", count: 64)), tree: treeHashes[""]!, schema: schemaHash,
                                      parent: index.head, author: author, date: date, message: message)
                var final = info
                final.id = try put(info.serialized())
                objects.append(try pack.finish())
                let finalObjects = objects
                let finalState = state
                let trees = treeHashes
                let rebuilt = dirty
                let statsJSON = String(decoding: (try? JSONEncoder().encode(stats)) ?? Data("{}".utf8), as: UTF8.self)
                let moves = movedLabels
                try write("recording the commit") { db in
                    try insertObjects(db, finalObjects)
                    for move in moves {
                        try db.execute(sql: "DELETE FROM labels WHERE path = ?", arguments: [move.to])
                        try db.execute(sql: "UPDATE labels SET path = ? WHERE path = ?", arguments: [move.to, move.from])
                    }
                    // Rows of files that are gone (committed or not) leave the index first.
                    let gone = try RawStatement(db, "DELETE FROM files WHERE path = ?")
                    for path in index.files.keys where finalState.contents[path] == nil { try gone.run([.text(path)]) }
                    // Rows whose cached content is current only need `committed` moved: one statement for all of them.
                    try db.execute(sql: "UPDATE files SET committed = hash WHERE committed IS NOT hash")
                    try upsertFiles(db, finalState, paths: finalState.rehashed, committed: { finalState.contents[$0]?.hash })
                    try db.execute(sql: "DELETE FROM labels WHERE hash IS NULL")
                    try db.execute(sql: "UPDATE labels SET committed = hash WHERE committed IS NOT hash")
                    // Bodies are committed as objects now; keep only those the working labels still use.
                    try db.execute(sql: "DELETE FROM label_bodies WHERE hash NOT IN (SELECT hash FROM labels WHERE hash IS NOT NULL)")
                    // A file committed as deleted takes its labels with it (they stay in history).
                    for path in index.labels.keys where finalState.contents[path] == nil && !moves.contains(where: { $0.from == path }) {
                        try db.execute(sql: "DELETE FROM labels WHERE path = ?", arguments: [path])
                    }
                    for folder in rebuilt where trees[folder] == nil {
                        try db.execute(sql: "DELETE FROM trees WHERE path = ? OR path LIKE ? ESCAPE '\\'", arguments: [folder, likePrefix(folder)])
                    }
                    let statement = try db.makeStatement(sql: "INSERT INTO trees (path, hash) VALUES (?, ?) ON CONFLICT(path) DO UPDATE SET hash = excluded.hash")
                    for (folder, hash) in trees where rebuilt.contains(folder) || previousTrees[folder] == nil {
                        try statement.execute(arguments: [folder, hash.hex])
                    }
                    try db.execute(sql: "INSERT OR IGNORE INTO commits (id, parent, tree, schema, author, date, message, seq, stats) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                   arguments: [final.id.hex, final.parent?.hex, final.tree.hex, final.schema?.hex, author, date.timeIntervalSince1970, message, parentSeq + 1, statsJSON])
                    try db.execute(sql: "INSERT INTO refs (name, commit_id) VALUES ('HEAD', ?) ON CONFLICT(name) DO UPDATE SET commit_id = excluded.commit_id",
                                   arguments: [final.id.hex])
                    try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('committed_schema', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                                   arguments: [schemaHash?.hex ?? "-"])
                    // The working tree is this commit now, not an earlier checkout.
                    try db.execute(sql: "DELETE FROM meta WHERE key = 'checkout'")
                }
                // After the database: a log entry always names a recorded commit (gc relies on it). If this write fails
                // (disk full) the commit stands; `fsck --rebuild` would then find it as the newest descendant of HEAD.
                try? RefLog.append(curateDirectory, .init(name: "HEAD", old: index.head, new: final.id))
                state.packs = []
                return final
            } catch {
                pack.abandon()
                throw error
            }
        }
    }
}

extension Repository {
    /// The stored counts of a commit (empty for none).
    func stats(of commit: ContentHash?) throws(VersioningError) -> DatasetStats {
        guard let commit else { return DatasetStats() }
        let json = try read("reading stats") { db in try String.fetchOne(db, sql: "SELECT stats FROM commits WHERE id = ?", arguments: [commit.hex]) }
        return json.flatMap { try? JSONDecoder().decode(DatasetStats.self, from: Data($0.utf8)) } ?? DatasetStats()
    }

    /// HEAD's counts moved to the working state: sizes recounted from the scan (cheap), class counts adjusted by
    /// decoding only the labels that changed.
    func nextStats(index: Index, state: WorkingState, labelOf: [String: ContentHash],
                   bodies: (String) -> Data?) throws(VersioningError) -> DatasetStats {
        var stats = try self.stats(of: index.head)
        let oldSchema = try index.committedSchema.map { (h) throws(VersioningError) in try LabelCodec.decodeSchema(object(h)) } ?? LabelSchema(classes: [])
        let newSchema = index.schema ?? LabelSchema(classes: [])
        var paths = Set(labelOf.keys)
        for (path, row) in index.labels where row.committed != nil { paths.insert(path) }
        // Class ids per label id, from the summaries recorded at import (decoding JSON only as a fallback).
        let summaries: [ContentHash: String] = try read("reading label summaries") { db in
            var result: [ContentHash: String] = [:]
            let statement = try db.makeStatement(sql: "SELECT hash, classes FROM label_classes")
            let s = statement.sqliteStatement
            while sqlite3_step(s) == SQLITE_ROW {
                if let hash = columnHash(s, 0) { result[hash] = columnString(s, 1) }
            }
            return result
        }
        func classIDs(_ hash: ContentHash, path: String, body: () throws(VersioningError) -> Data) throws(VersioningError) -> [Int] {
            if let summary = summaries[hash] { return DatasetStats.parseSummary(summary) }
            return DatasetStats.parseSummary(DatasetStats.classSummary(try LabelCodec.decode(body(), item: path)))
        }
        for path in paths {
            let old = index.files[path]?.committed != nil ? index.labels[path]?.committed : nil
            let new = labelOf[path]
            guard old != new else { continue }
            if let old { stats.addClassIDs(try classIDs(old, path: path) { () throws(VersioningError) in try object(old) }, schema: oldSchema, sign: -1) }
            if let new, let body = bodies(path) {
                stats.addClassIDs(try classIDs(new, path: path) { () throws(VersioningError) in body }, schema: newSchema, sign: 1)
            }
        }
        let sizes = DatasetStats.sizes(of: state.contents.values.map { ($0.width, $0.height) })
        stats.files = sizes.files
        stats.sizes = sizes.sizes
        return stats
    }
}

func parentDirectory(_ path: String) -> String {
    var path = path
    return path.withUTF8 { bytes in
        guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return "" }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[..<slash]), as: UTF8.self)
    }
}

func lastComponent(_ path: String) -> String {
    var path = path
    return path.withUTF8 { bytes in
        guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return String(decoding: bytes, as: UTF8.self) }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[(slash + 1)...]), as: UTF8.self)
    }
}

func depth(_ path: String) -> Int { path.isEmpty ? 0 : path.utf8.reduce(1) { $1 == UInt8(ascii: "/") ? $0 + 1 : $0 } }

/// A LIKE pattern matching everything below `folder`.
func likePrefix(_ folder: String) -> String {
    let escaped = folder.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
    return folder.isEmpty ? "%" : escaped + "/%"
}
