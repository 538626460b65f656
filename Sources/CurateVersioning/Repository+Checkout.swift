import CurateCore
import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#endif

/// What `checkout` did.
package struct CheckoutReport: Sendable, Codable {
    /// The commit materialised.
    package var commit: ContentHash
    /// Files written (content differed or was missing).
    package var written: Int
    /// Files already identical, left alone.
    package var unchanged: Int
    /// Working files removed because the revision does not have them (in-place checkout only).
    package var removed: Int
    /// Items whose working labels were restored.
    package var labels: Int
}

extension Repository {
    /// Materialises a revision, or the part of it matching `paths`.
    ///
    /// With `destination`, files are written there (a new or empty folder, unless `force`). Without it, the working
    /// tree and working labels are restored in place — HEAD does not move, so `status` then shows the restore as
    /// changes to commit — and uncommitted changes to the affected files or labels are refused unless `force`.
    /// - Parameters:
    ///   - paths: glob patterns (`fnmatch`, `*` also crosses `/`) or folder prefixes; empty for everything.
    ///   - durable: fsync each file as it is written (else one `sync` at the end: a new clone has nothing to lose).
    package func checkout(_ revision: String, to destination: String? = nil, paths: [String] = [], force: Bool = false,
                         durable: Bool = true, wait: Double = 0) throws(VersioningError) -> CheckoutReport {
        let snapshot = try snapshot(resolve(revision), preload: true)
        let selected = snapshot.files.filter { matches($0.key, paths) }
        if let destination {
            return try materialise(snapshot, selected, into: destination, force: force)
        }
        return try writing(wait: wait) { () throws(VersioningError) -> CheckoutReport in
            let (index, checkedOut) = try read("reading the index") { db in
                (try Index.load(db, labelBodies: true), try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'checkout'").flatMap(ContentHash.init(hex:)))
            }
            let state = try workingState(index, store: false)
            var dirty: Set<String>
            if let checkedOut, checkedOut != headID().flatMap(ContentHash.init(hex:)), let base = try? self.snapshot(checkedOut) {
                // The tree was checked out in place from another revision: what differs from that revision is what
                // the user changed since (the checkout's own deletions and restores are not changes to protect).
                dirty = []
                for (path, content) in state.contents where base.files[path]?.hash != content.hash { dirty.insert(path) }
                for path in base.files.keys where state.contents[path] == nil { dirty.insert(path) }
                for (path, row) in index.labels where row.hash != base.files[path]?.labels { dirty.insert(path) }
            } else {
                let status = Self.status(index: index, state: state)
                dirty = Set(status.added + status.modified + status.deleted + status.labelsChanged)
                for r in status.renamed { dirty.insert(r.from); dirty.insert(r.to) }
            }
            // A change is at risk only if checkout would alter it: a path already holding the revision's content and
            // labels (what an interrupted checkout of the same revision left) is finished, not overwritten.
            let affected = dirty.filter { path in
                guard matches(path, paths), selected[path] != nil || state.contents[path] != nil || index.labels[path] != nil else { return false }
                let sameContent = state.contents[path]?.hash == selected[path]?.hash
                let sameLabels = index.labels[path]?.hash == selected[path]?.labels
                return !(sameContent && sameLabels)
            }
            if !force, !affected.isEmpty {
                let list = affected.sorted().prefix(5).joined(separator: ", ") + (affected.count > 5 ? ", …" : "")
                throw VersioningError(.wouldOverwrite, "checkout would overwrite uncommitted changes to \(affected.count) path(s): \(list); commit them or pass --force")
            }
            var written = 0, unchanged = 0, removed = 0
            var writtenPaths: [String] = []
            // A partial clone's files that were never checked out count as missing here, whatever the index says.
            let absent = Set(index.files.filter { $0.value.stat.mtimeNanoseconds == Index.notCheckedOut && state.stats[$0.key] == nil }.keys)
            try prefetch(selected.filter { state.contents[$0.key]?.hash != $0.value.hash || absent.contains($0.key) }.map(\.value.hash))
            let writer = try FolderWriter(base: root)
            writer.durable = durable
            // Leftovers of an interrupted checkout go, also where nothing is left to write.
            for folder in Set(selected.keys.map(parentDirectory)) where access(tree.fullPath(folder), F_OK) == 0 { _ = try writer.folder(folder) }
            for (path, entry) in selected.sorted(by: { $0.key < $1.key }) {
                if state.contents[path]?.hash == entry.hash && !absent.contains(path) { unchanged += 1; continue }
                try writer.write(snapshot.reader.read(entry.hash), to: path)
                writtenPaths.append(path)
                written += 1
            }
            // Files the revision does not have, under the selection and the tracked roots.
            var removedPaths: [String] = []
            for path in state.contents.keys.sorted() where selected[path] == nil && matches(path, paths) && !absent.contains(path) {
                if try writer.remove(path) { removed += 1; removedPaths.append(path) }
            }
            if !durable { writer.syncAll() }
            // Refresh the stat cache for what was written, so status stays fast and exact.
            let refreshed = try Hasher(tree: tree).hash(writtenPaths, store: nil, known: [])
            let refreshedState = WorkingState(contents: refreshed.contents, stats: refreshed.stats, rehashed: Set(writtenPaths), packs: [])
            // Labels of the selection.
            var labelUpdates: [(String, Data?)] = []
            for path in Set(selected.keys).union(index.labels.keys.filter { matches($0, paths) }) {
                let body = try selected[path]?.labels.map { (h) throws(VersioningError) in try snapshot.reader.read(h) }
                if body.map(ContentHash.of) != index.labels[path]?.hash { labelUpdates.append((path, body)) }
            }
            let schemaJSON = String(decoding: LabelCodec.encodeSchema(snapshot.schema), as: UTF8.self)
            try write("recording the checkout") { db in
                try upsertFiles(db, refreshedState, paths: writtenPaths, committed: nil)
                for path in removedPaths { try db.execute(sql: "DELETE FROM files WHERE path = ? AND committed IS NULL", arguments: [path]) }
                for (path, body) in labelUpdates {
                    try db.execute(sql: "INSERT INTO labels (path, hash) VALUES (?, ?) ON CONFLICT(path) DO UPDATE SET hash = excluded.hash",
                                   arguments: [path, body.map(ContentHash.of)?.hex])
                    if let body {
                        let hash = ContentHash.of(body).hex
                        try db.execute(sql: "INSERT OR IGNORE INTO label_bodies (hash, body) VALUES (?, ?)", arguments: [hash, body])
                        let summary = DatasetStats.classSummary((try? LabelCodec.decode(body, item: path)) ?? [])
                        try db.execute(sql: "INSERT OR IGNORE INTO label_classes (hash, classes) VALUES (?, ?)", arguments: [hash, summary])
                    }
                }
                if paths.isEmpty {
                    try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('schema', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", arguments: [schemaJSON])
                }
                // What is checked out, so status can say it and going back needs no --force: a whole revision other
                // than HEAD is recorded; HEAD, or a part of a revision, clears the record.
                if paths.isEmpty, snapshot.commit.id.hex != headID() {
                    try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('checkout', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                                   arguments: [snapshot.commit.id.hex])
                } else {
                    try db.execute(sql: "DELETE FROM meta WHERE key = 'checkout'")
                }
            }
            return CheckoutReport(commit: snapshot.commit.id, written: written, unchanged: unchanged, removed: removed, labels: labelUpdates.count)
        }
    }

    private func materialise(_ snapshot: Snapshot, _ selected: [String: TreeEntry], into destination: String, force: Bool) throws(VersioningError) -> CheckoutReport {
        let fm = FileManager.default
        do { try fm.createDirectory(atPath: destination, withIntermediateDirectories: true) } catch {
            throw VersioningError(.io, "\(destination): cannot create the folder: \(error.localizedDescription)")
        }
        let real = try canonical(destination)
        if real == curateDirectory || real.hasPrefix(curateDirectory + "/") {
            throw VersioningError(.badPath, "checkout --to \(destination): inside \(curateDirectory), which Curate manages itself; choose a folder outside it (nothing was written)")
        }
        if let existing = try? fm.contentsOfDirectory(atPath: real), !existing.isEmpty, !force {
            throw VersioningError(.wouldOverwrite, "\(destination): folder is not empty; choose a new folder or pass --force")
        }
        try prefetch(selected.values.map(\.hash))
        let writer = try FolderWriter(base: real)
        var written = 0
        for (path, entry) in selected.sorted(by: { $0.key < $1.key }) {
            try writer.write(snapshot.reader.read(entry.hash), to: path)
            written += 1
        }
        return CheckoutReport(commit: snapshot.commit.id, written: written, unchanged: 0, removed: 0, labels: 0)
    }
}

extension Repository {
    /// A partial clone fetches the blobs a checkout writes in one batch first, not one request each.
    func prefetch(_ hashes: [ContentHash]) throws(VersioningError) {
        guard !hashes.isEmpty, MissingObjects.source(for: self) != nil else { return }
        try fetchMissing(hashes)
    }
}

/// Whether `path` matches any pattern: a glob (`fnmatch`, `*` also crosses `/`), or a folder prefix.
/// No patterns match everything. Shared by checkout and augment's `--paths`.
package func matches(_ path: String, _ patterns: [String]) -> Bool {
    if patterns.isEmpty { return true }
    return patterns.contains { pattern in
        let p = pattern.hasSuffix("/") ? String(pattern.dropLast()) : pattern
        return path == p || path.hasPrefix(p + "/") || fnmatch(p, path, 0) == 0
    }
}
