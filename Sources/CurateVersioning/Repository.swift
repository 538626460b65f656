import CurateCore
import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#endif

/// A versioned dataset: a folder with a `.curate/` holding the object store and the metadata database.
///
/// ```swift
/// let repo = try Repository.initialize(at: "datasets/photos")
/// try repo.add(["images"], labels: LabelImport(path: "labels.coco.json", format: .coco))
/// let commit = try repo.commit(message: "first labels", author: "ana")
/// print(try repo.status().isClean)   // true
/// ```
package struct Repository: Sendable {
    /// The dataset root (the folder that holds `.curate/`), canonical.
    package let root: String
    let metadata: DatabasePool
    let store: ObjectStore
    let tree: WorkingTree

    var curateDirectory: String { root + "/.curate" }

    /// Creates `.curate/` in `path` (made if missing).
    /// - Throws: `.invalid` if a repository already exists there.
    package static func initialize(at path: String) throws(VersioningError) -> Repository {
        let fm = FileManager.default
        do { try fm.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw VersioningError(.io, "\(path): cannot create the folder: \(error.localizedDescription)")
        }
        let root = try canonical(path)
        let dot = root + "/.curate"
        if fm.fileExists(atPath: dot) { throw VersioningError(.invalid, "\(dot) already exists: this folder is already a Curate repository") }
        // Build in a temporary folder and rename, so a half-made repository never exists.
        let staging = root + "/.curate-init-\(UUID().uuidString.lowercased())"
        do {
            for sub in ["", "/objects", "/packs"] { try fm.createDirectory(atPath: staging + sub, withIntermediateDirectories: true) }
            try Data("\(Metadata.formatVersion)\n".utf8).write(to: URL(fileURLWithPath: staging + "/FORMAT"))
            try Data(formatNote.utf8).write(to: URL(fileURLWithPath: staging + "/README"))
            let pool = try Metadata.open(staging + "/metadata.sqlite", creating: true)
            try pool.write { db in try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('created', ?)", arguments: [ISO8601DateFormatter().string(from: Date())]) }
            try pool.close()
            guard rename(staging, dot) == 0 else { throw VersioningError(.io, "\(dot): rename failed: \(String(cString: strerror(errno)))") }
        } catch {
            try? fm.removeItem(atPath: staging)
            throw VersioningError.database(error, "initialising \(dot)")
        }
        fsyncDirectory(root)
        return try open(at: root)
    }

    static let formatNote = """
        This folder is a Curate repository (format \(Metadata.formatVersion)). Do not edit it by hand.
        FORMAT holds the on-disk format version; the layout is documented in Curate's
        Sources/CurateVersioning/FORMAT.md.

        """

    /// Opens the repository containing `path` (searching upward for `.curate/`).
    /// - Throws: `.notARepository` when there is none; `.invalid` for a newer on-disk format.
    package static func open(at path: String = ".") throws(VersioningError) -> Repository {
        let current = try findRoot(path)
        let version = try formatVersion(of: current)
        let pool = try Metadata.open(current + "/.curate/metadata.sqlite")
        let repository = Repository(root: current, metadata: pool, store: ObjectStore(root: current + "/.curate"), tree: WorkingTree(root: current))
        if version < Metadata.formatVersion {
            // Upgrade now if no writer is busy; otherwise the next writer does (format 1 stays readable).
            if let lock = try? RepositoryLock.acquire(repository.curateDirectory + "/lock", wait: 0) {
                defer { lock.release() }
                try? repository.upgradeFormat()   // best effort: a read-only copy stays readable as format 1
            }
        }
        return repository
    }

    /// The on-disk format version in `.curate/FORMAT`.
    /// - Throws: `.corrupt` when the file is missing or damaged (with the version to write back), `.invalid` for a
    ///   newer format.
    static func formatVersion(of root: String) throws(VersioningError) -> Int {
        let path = root + "/.curate/FORMAT"
        let formatText = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let version = formatText.flatMap(Int.init), version >= 1 else {
            throw VersioningError(.corrupt, "\(path) is missing or damaged (it holds the format version); if this repository was made by this curate, restore it with: echo \(Metadata.formatVersion) > \(path)")
        }
        guard version <= Metadata.formatVersion else {
            throw VersioningError(.invalid, "\(root)/.curate uses format \(version); this curate reads up to \(Metadata.formatVersion): upgrade curate")
        }
        return version
    }

    /// An older format → this one: the database was migrated when it was opened; the pack indexes (format 1 had
    /// none) are written from it, then the new version. Needs the writer lock.
    func upgradeFormat() throws(VersioningError) {
        guard try Self.formatVersion(of: root) < Metadata.formatVersion else { return }
        _ = try writeMissingPackIndexes()
        // The ref log starts with the refs there are (format 1 kept them in the database only).
        if access(RefLog.path(curateDirectory), F_OK) != 0 {
            let refs = try read("reading refs") { db in try Row.fetchAll(db, sql: "SELECT name, commit_id FROM refs ORDER BY name = 'HEAD', name") }
            for ref in refs {
                guard let id = ContentHash(hex: ref[1]) else { continue }
                try RefLog.append(curateDirectory, .init(name: ref[0], old: nil, new: id))
            }
        }
        try writeDurably(Data("\(Metadata.formatVersion)\n".utf8), to: curateDirectory + "/FORMAT")
    }

    /// Writes the index of every pack the metadata knows that has none; returns how many were written.
    func writeMissingPackIndexes() throws(VersioningError) -> Int {
        let locations = try read("reading objects") { db in try objectLocations(db) }
        var byPack: [String: [(ContentHash, ObjectLocation)]] = [:]
        for (hash, location) in locations { if let pack = location.pack { byPack[pack, default: []].append((hash, location)) } }
        var written = 0
        for (pack, entries) in byPack {
            let index = PackIndex.path(forPack: store.packsDirectory + "/" + pack)
            guard access(index, F_OK) != 0 else { continue }
            try writeDurably(PackIndex.serialize(entries.sorted { $0.1.offset < $1.1.offset }), to: index, mode: 0o444)
            written += 1
        }
        return written
    }

    /// A repository-relative path for a user-given path (relative to the current folder or absolute).
    /// - Throws: `.badPath` when it is outside the repository or inside `.curate/`.
    package func relativePath(_ path: String, mustExist: Bool = true) throws(VersioningError) -> String {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        let resolved: String
        if mustExist {
            guard FileManager.default.fileExists(atPath: absolute) else { throw VersioningError(.notFound, "\(path): no such file or folder") }
            resolved = try canonical(absolute)
        } else {
            resolved = (URL(fileURLWithPath: absolute).standardizedFileURL.path)
        }
        if resolved == root { return "" }
        guard resolved.hasPrefix(root + "/") else {
            throw VersioningError(.badPath, "\(path): outside the repository at \(root) (nothing was changed)")
        }
        let relative = String(resolved.dropFirst(root.count + 1))
        if relative == ".curate" || relative.hasPrefix(".curate/") {
            throw VersioningError(.badPath, "\(path): inside .curate, which Curate manages itself")
        }
        return relative
    }

    /// Runs `body` holding the writer lock.
    func writing<T>(wait: Double, _ body: () throws(VersioningError) -> T) throws(VersioningError) -> T {
        let lock = try RepositoryLock.acquire(curateDirectory + "/lock", wait: wait)
        defer { lock.release() }
        try upgradeFormat()
        return try body()
    }

    func read<T>(_ what: String, _ body: (Database) throws -> T) throws(VersioningError) -> T {
        do { return try metadata.read(body) } catch { throw VersioningError.database(error, what) }
    }

    func write<T>(_ what: String, _ body: (Database) throws -> T) throws(VersioningError) -> T {
        do { return try metadata.write(body) } catch { throw VersioningError.database(error, what) }
    }
}

/// Labels to import with `add`.
package struct LabelImport: Sendable {
    /// The label file or folder.
    package var path: String
    /// Its format.
    package var format: LabelFormat
    /// The folder the label file's item paths are relative to (default: the label file's folder, or the
    /// parent of a YOLO/VOC folder).
    package var imagesRoot: String?
    /// Skip invalid records instead of failing.
    package var lenient: Bool

    package init(path: String, format: LabelFormat, imagesRoot: String? = nil, lenient: Bool = false) {
        self.path = path
        self.format = format
        self.imagesRoot = imagesRoot
        self.lenient = lenient
    }
}
