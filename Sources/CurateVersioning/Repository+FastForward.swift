import CurateCore
import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#endif

/// What `fastForward` did.
package struct FastForwardReport: Sendable, Codable {
    /// HEAD before (nil in a new clone) and after.
    package var from: ContentHash?
    package var to: ContentHash
    /// Files written, removed, and left out (a partial clone's files outside its paths).
    package var written: Int
    package var removed: Int
    package var notCheckedOut: Int
}

extension Repository {
    /// The paths a partial clone checks out (`clone --paths`), `[]` for none (`clone --no-blobs`), nil for a full
    /// repository.
    package func sparsePaths() throws(VersioningError) -> [String]? {
        let json = try read("reading meta") { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'sparse'") }
        return json.flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) }
    }

    /// Moves HEAD forward to `target` (a descendant of HEAD, or any commit in a repository without one) and makes
    /// the working files and labels match it, as `pull` and `clone` do. Uncommitted changes that the move would
    /// overwrite are refused (nothing changes). With `sparse` (set by a partial clone and kept afterwards), only
    /// files matching those paths are written; the others stay in the index as "not checked out" and their blobs
    /// stay on the remote until a checkout asks for them.
    /// - Throws: `.invalid` when the histories diverged, `.wouldOverwrite` for uncommitted changes in the way.
    /// With `replacing` (HEAD itself, as `rebase` passes it), the target need not descend from HEAD: the rebased
    /// copies of HEAD's commits replace them.
    package func fastForward(to target: ContentHash, sparse newSparse: [String]?? = .none, replacing: ContentHash? = nil,
                             wait: Double = 5) throws(VersioningError) -> FastForwardReport {
        let from = try head()
        if let from, from != replacing, try commits(from: target, after: from) == nil {
            throw VersioningError(.invalid, "HEAD \(from.short()) is not an ancestor of \(target.short()): the histories diverged; commit or move your work, then pull again")
        }
        let previousSparse = try sparsePaths()
        var sparse = previousSparse
        if case .some(let value) = newSparse { sparse = value }
        let snapshot = try snapshot(target, preload: true)
        let selected = sparse.map { patterns in patterns.isEmpty ? [:] : snapshot.files.filter { matches($0.key, patterns) } } ?? snapshot.files
        if from == target && sparse == previousSparse {
            return FastForwardReport(from: from, to: target, written: 0, removed: 0, notCheckedOut: snapshot.files.count - selected.count)
        }
        // Every top-level entry of the target is tracked, so status sees what arrived. A partial clone says so
        // first, so that what it lacks is fetched from its remote from here on.
        let topLevel = Set(snapshot.files.keys.map { String($0.split(separator: "/", maxSplits: 1)[0]) })
        let sparseJSON = sparse.map { String(decoding: (try? JSONEncoder().encode($0)) ?? Data("[]".utf8), as: UTF8.self) }
        try writing(wait: wait) { () throws(VersioningError) in
            try write("tracking roots") { db in
                if let sparseJSON {
                    try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('sparse', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", arguments: [sparseJSON])
                }
                let roots = Set(try String.fetchAll(db, sql: "SELECT path FROM roots"))
                guard !roots.contains("") else { return }
                for root in topLevel where !roots.contains(root) && !roots.contains(where: { root.hasPrefix($0 + "/") }) {
                    try db.execute(sql: "INSERT INTO roots (path) VALUES (?)", arguments: [root])
                }
            }
        }
        // The blobs to write come in one batch (a partial clone's remote), not one request each.
        try fetchMissing(selected.values.map(\.hash))
        var report = FastForwardReport(from: from, to: target, written: 0, removed: 0, notCheckedOut: snapshot.files.count - selected.count)
        if !selected.isEmpty || from != nil {
            let patterns = sparse.map { $0.isEmpty ? ["\u{0}none"] : $0 } ?? []
            let done = try checkout(target.hex, paths: patterns, force: false, durable: from != nil, wait: wait)
            report.written = done.written
            report.removed = done.removed
        }
        // Then HEAD and the committed side of the index, in one transaction.
        var labelClasses: [ContentHash: String] = [:]
        for (path, entry) in snapshot.files {
            if let labels = entry.labels, labelClasses[labels] == nil {
                labelClasses[labels] = DatasetStats.classSummary((try? snapshot.annotations(path)) ?? [])
            }
        }
        let schemaJSON = String(decoding: LabelCodec.encodeSchema(snapshot.schema), as: UTF8.self)
        let summaries = labelClasses
        try writing(wait: wait) { () throws(VersioningError) in
            try write("moving HEAD to \(target.short())") { db in
                var rows: [String: String] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT path, hash FROM files") { rows[row[0]] = row[1] }
                let upsert = try db.makeStatement(sql: """
                    INSERT INTO files (path, size, mtime, inode, hash, width, height, committed) VALUES (?, ?, ?, 0, ?, ?, ?, ?)
                    ON CONFLICT(path) DO UPDATE SET size = excluded.size, mtime = excluded.mtime, inode = 0, hash = excluded.hash,
                      width = excluded.width, height = excluded.height, committed = excluded.committed
                    """)
                let commit = try db.makeStatement(sql: "UPDATE files SET committed = ? WHERE path = ?")
                for (path, entry) in snapshot.files {
                    if rows[path] == entry.hash.hex {
                        try commit.execute(arguments: [entry.hash.hex, path])
                    } else {
                        // Written files are re-hashed by the next status (mtime -1); others are not checked out.
                        let mtime: Int64 = selected[path] != nil ? -1 : Index.notCheckedOut
                        try upsert.execute(arguments: [path, entry.size, mtime, entry.hash.hex, entry.width, entry.height, entry.hash.hex])
                    }
                }
                for path in rows.keys where snapshot.files[path] == nil {
                    try db.execute(sql: "DELETE FROM files WHERE path = ? AND committed IS NOT NULL", arguments: [path])
                }
                try db.execute(sql: "DELETE FROM labels")
                let label = try db.makeStatement(sql: "INSERT INTO labels (path, hash, committed) VALUES (?, ?, ?)")
                for (path, entry) in snapshot.files { if let l = entry.labels { try label.execute(arguments: [path, l.hex, l.hex]) } }
                try db.execute(sql: "DELETE FROM label_bodies WHERE hash IN (SELECT hash FROM objects)")
                for (hash, summary) in summaries {
                    try db.execute(sql: "INSERT OR IGNORE INTO label_classes (hash, classes) VALUES (?, ?)", arguments: [hash.hex, summary])
                }
                try db.execute(sql: "DELETE FROM trees")
                for (folder, hash) in snapshot.folders {
                    try db.execute(sql: "INSERT INTO trees (path, hash) VALUES (?, ?)", arguments: [folder, hash.hex])
                }
                // A commit without labels has no schema: the working schema is absent too (as after such a commit).
                for (key, value) in [("schema", snapshot.commit.schema == nil ? nil : schemaJSON), ("committed_schema", snapshot.commit.schema?.hex ?? "-")] {
                    if let value {
                        try db.execute(sql: "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", arguments: [key, value])
                    } else {
                        try db.execute(sql: "DELETE FROM meta WHERE key = ?", arguments: [key])
                    }
                }
                if let sparseJSON {
                    try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('sparse', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", arguments: [sparseJSON])
                } else {
                    try db.execute(sql: "DELETE FROM meta WHERE key = 'sparse'")
                }
                try db.execute(sql: "INSERT INTO refs (name, commit_id) VALUES ('HEAD', ?) ON CONFLICT(name) DO UPDATE SET commit_id = excluded.commit_id",
                               arguments: [target.hex])
            }
            if from != target { try? RefLog.append(curateDirectory, .init(name: "HEAD", old: from, new: target)) }
        }
        return report
    }
}
