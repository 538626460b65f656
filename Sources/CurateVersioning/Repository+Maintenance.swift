import CurateCore
import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#endif

/// What `fsck` found.
package struct FsckReport: Sendable, Codable {
    /// Objects whose bytes were read and hashed.
    package var objectsChecked: Int
    /// Commits whose trees were walked.
    package var commitsChecked: Int
    /// One line per problem, naming the damaged object, pack, commit or ref.
    package var problems: [String]
    package var isHealthy: Bool { problems.isEmpty }

    package init(objectsChecked: Int, commitsChecked: Int, problems: [String]) {
        self.objectsChecked = objectsChecked
        self.commitsChecked = commitsChecked
        self.problems = problems
    }
}

/// What `gc` removed.
package struct GCReport: Sendable, Codable {
    package var objectsRemoved: Int
    package var packsRemoved: Int
    package var packsRewritten: Int
    package var bytesFreed: Int
}

extension Repository {
    /// Reads and hashes every object, and walks every commit's trees and labels; reports what is damaged.
    package func fsck() throws(VersioningError) -> FsckReport {
        var problems: [String] = []
        let integrity = try read("checking the database") { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
        if integrity != ["ok"] {
            problems.append("metadata database \(curateDirectory)/metadata.sqlite is damaged: \(integrity.prefix(3).joined(separator: "; ")); run curate fsck --rebuild")
        }
        let reader = try ObjectReader(repository: self, preload: true)
        var checked = 0
        for (hash, location) in reader.locations.sorted(by: { $0.key < $1.key }) {
            do throws(VersioningError) {
                _ = try reader.read(hash)
            } catch {
                problems.append("object \(hash.hex) (\(location.pack ?? "loose")): \(error.message)")
            }
            checked += 1
        }
        for pack in Set(reader.locations.values.compactMap(\.pack)).sorted()
        where access(PackIndex.path(forPack: store.packsDirectory + "/" + pack), F_OK) != 0 {
            problems.append("pack \(pack) has no index: a lost database could not be rebuilt from it; run curate gc to write it")
        }
        let commits = try read("reading commits") { db in try Row.fetchAll(db, sql: "SELECT id, tree, parent FROM commits ORDER BY seq") }
        let partial = try sparsePaths() != nil
        var walkedTrees = Set<ContentHash>()
        for row in commits {
            let id = ContentHash(trusted: row[0])
            do throws(VersioningError) {
                let info = try CommitInfo.parse(reader.read(id), id: id)
                guard info.tree.hex == (row[1] as String), info.parent?.hex == (row[2] as String?) else {
                    problems.append("commit \(id.hex): object disagrees with the metadata database")
                    continue
                }
                if let schema = info.schema { _ = try LabelCodec.decodeSchema(reader.read(schema)) }
                try checkTree(info.tree, reader: reader, partial: partial, walked: &walkedTrees)
            } catch {
                problems.append("commit \(id.hex): \(error.message)")
            }
        }
        let refs = try read("reading refs") { db in try Row.fetchAll(db, sql: "SELECT name, commit_id FROM refs") }
        let commitIDs = Set(commits.map { $0[0] as String })
        for ref in refs where !commitIDs.contains(ref[1] as String) {
            problems.append("ref \(ref[0] as String) points to a missing commit \(ref[1] as String)")
        }
        var lost = Set<ContentHash>()
        for entry in RefLog.read(curateDirectory) where !commitIDs.contains(entry.new.hex) && lost.insert(entry.new).inserted {
            problems.append("the ref log names commit \(entry.new.hex) (\(entry.name)), which the metadata lacks: history may be lost from the database; run curate fsck --rebuild")
        }
        return FsckReport(objectsChecked: checked, commitsChecked: commits.count, problems: problems)
    }

    private func checkTree(_ hash: ContentHash, reader: ObjectReader, partial: Bool, walked: inout Set<ContentHash>) throws(VersioningError) {
        guard walked.insert(hash).inserted else { return }
        for entry in try Tree.parse(reader.read(hash), hash: hash).entries {
            switch entry.kind {
            case .directory: try checkTree(entry.hash, reader: reader, partial: partial, walked: &walked)
            case .file:
                // A partial clone leaves blobs on its remote until they are needed (`fsck --remote` checks them there).
                guard reader.locations[entry.hash] != nil || partial else {
                    throw VersioningError(.corrupt, "file '\(entry.name)' in tree \(hash.short()) refers to missing object \(entry.hash.hex)")
                }
                if let labels = entry.labels {
                    _ = try LabelCodec.decode(reader.read(labels), item: entry.name)
                }
            }
        }
    }

    /// Removes objects no commit, tag or tracked file refers to: leftovers of interrupted or failed operations.
    /// Packs with nothing live are deleted; packs that are mostly dead are rewritten.
    package func gc(wait: Double = 0) throws(VersioningError) -> GCReport {
        try writing(wait: wait) { () throws(VersioningError) -> GCReport in
            try checkBeforeDeleting()
            _ = try writeMissingPackIndexes()
            let reader = try ObjectReader(repository: self, preload: true)
            var live = Set<ContentHash>()
            let commits = try read("reading commits") { db in try String.fetchAll(db, sql: "SELECT id FROM commits") }
            var walked = Set<ContentHash>()
            func mark(_ tree: ContentHash) throws(VersioningError) {
                guard walked.insert(tree).inserted else { return }
                live.insert(tree)
                for entry in try Tree.parse(reader.read(tree), hash: tree).entries {
                    switch entry.kind {
                    case .directory: try mark(entry.hash)
                    case .file:
                        live.insert(entry.hash)
                        if let l = entry.labels { live.insert(l) }
                    }
                }
            }
            for id in commits.map(ContentHash.init(trusted:)) {
                live.insert(id)
                let info = try CommitInfo.parse(reader.read(id), id: id)
                if let s = info.schema { live.insert(s) }
                try mark(info.tree)
            }
            let cached = try read("reading the index") { db in try String.fetchAll(db, sql: "SELECT hash FROM files") }
            for h in cached { live.insert(ContentHash(trusted: h)) }

            var dead: [ContentHash] = []
            var packLive: [String: [(ContentHash, ObjectLocation)]] = [:]
            var packTotal: [String: Int] = [:]
            var bytesFreed = 0
            for (hash, location) in reader.locations {
                if let pack = location.pack { packTotal[pack, default: 0] += location.length }
                if live.contains(hash) {
                    if let pack = location.pack { packLive[pack, default: []].append((hash, location)) }
                } else {
                    dead.append(hash)
                    if location.pack == nil { bytesFreed += location.length }
                }
            }
            // Rewrite packs that are less than half live; delete packs with nothing live.
            var rewritten: [String] = [], emptied: [String] = []
            var moves: [(ContentHash, ObjectLocation)] = []
            let newPack = try PackWriter(store: store)
            for (pack, total) in packTotal {
                let liveObjects = packLive[pack] ?? []
                let liveBytes = liveObjects.reduce(0) { $0 + $1.1.length }
                if liveObjects.isEmpty { emptied.append(pack); bytesFreed += total; continue }
                guard liveBytes * 2 < total else { continue }
                for (hash, _) in liveObjects {
                    let data = try reader.read(hash)
                    try data.withUnsafeBytes { raw in Result { () throws(VersioningError) in try newPack.append(hash, raw) } }.get()
                }
                rewritten.append(pack)
                bytesFreed += total - liveBytes
            }
            moves = try newPack.finish()
            let deadObjects = dead
            let movedObjects = moves
            try write("recording gc") { db in
                for hash in deadObjects { try db.execute(sql: "DELETE FROM objects WHERE hash = ?", arguments: [hash.hex]) }
                for (hash, location) in movedObjects {
                    try db.execute(sql: "UPDATE objects SET pack = ?, offset = ?, length = ? WHERE hash = ?",
                                   arguments: [location.pack, location.offset, location.length, hash.hex])
                }
            }
            // Only now, with the metadata no longer pointing at them, remove files.
            for hash in deadObjects where reader.locations[hash]?.pack == nil { unlink(store.loosePath(hash)) }
            for pack in emptied + rewritten {
                unlink(store.packsDirectory + "/" + pack)
                unlink(PackIndex.path(forPack: store.packsDirectory + "/" + pack))
            }
            // Packs no row refers to (left by a killed add or commit: the checks above showed the metadata lost
            // no commit), their indexes, and temporary files.
            let referenced = try read("reading packs") { db in Set(try String.fetchAll(db, sql: "SELECT DISTINCT pack FROM objects WHERE pack IS NOT NULL")) }
            var strays = 0
            for name in (try? FileManager.default.contentsOfDirectory(atPath: store.packsDirectory)) ?? [] {
                let path = store.packsDirectory + "/" + name
                let stray: Bool
                if name.hasSuffix(".idx") {
                    stray = !referenced.contains(String(name.dropLast(4)) + ".pack")
                } else {
                    stray = (name.hasPrefix("pack-") && name.hasSuffix(".pack") && !referenced.contains(name)) || name.hasPrefix("tmp-") || name.hasPrefix(".tmp-")
                }
                guard stray else { continue }
                bytesFreed += (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
                unlink(path)
                if name.hasSuffix(".pack") { strays += 1 }
            }
            return GCReport(objectsRemoved: dead.count, packsRemoved: emptied.count + strays, packsRewritten: rewritten.count, bytesFreed: bytesFreed)
        }
    }

    /// The labels committed in a revision, with item paths relative to `folder` (repository-relative; "" for the root).
    /// Every file under `folder` that has labels or is an image becomes an item; with `paths` (globs or folders, as
    /// `checkout` takes them) only those.
    package func labels(at revision: String, relativeTo folder: String = "", paths: [String] = []) throws(VersioningError) -> LabelSet {
        let snapshot = try snapshot(resolve(revision), preload: true)
        var items: [Item] = []
        var annotations: [Annotation] = []
        for (path, entry) in snapshot.files.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
            guard folder.isEmpty || path.hasPrefix(folder + "/") else { continue }
            guard entry.labels != nil || entry.width != nil, matches(path, paths) else { continue }
            let relative = folder.isEmpty ? path : String(path.dropFirst(folder.count + 1))
            items.append(Item(path: relative, width: entry.width, height: entry.height))
            for var annotation in try snapshot.annotations(path) {
                annotation.item = relative
                annotations.append(annotation)
            }
        }
        return LabelSet(schema: snapshot.schema, items: items, annotations: annotations)
    }
}
