import CurateCore
import Foundation
import GRDB
import GRDBSQLite
#if canImport(Glibc)
import Glibc
#endif

/// The `status` fast path: the stat cache read in path order and a sorted walk of the tree, merged in one pass —
/// no dictionary over every tracked file, and no hash computed for a file whose stat is unchanged.
extension Repository {
    struct CachedFile {
        var path: String
        var stat: FileStat
        /// The cached content is the committed content.
        var clean: Bool
        /// Not in HEAD (added since).
        var uncommitted: Bool
        /// Parsed only for rows that are not clean.
        var hash: ContentHash?
        var committed: ContentHash?
    }

    func fastStatus() throws(VersioningError) -> Status {
        let (rows, roots, labelsChanged, schemaChanged) = try read("reading the index") { db -> ([CachedFile], [String], [String], Bool) in
            let roots = try String.fetchAll(db, sql: "SELECT path FROM roots ORDER BY path")
            var rows: [CachedFile] = []
            rows.reserveCapacity(4096)
            // Hashes are only parsed where they matter: a clean row compares them in SQL.
            let statement = try db.makeStatement(sql: "SELECT path, size, mtime, inode, hash IS committed, committed IS NULL, hash, committed FROM files ORDER BY path")
            let s = statement.sqliteStatement
            while true {
                let rc = sqlite3_step(s)
                if rc == SQLITE_DONE { break }
                guard rc == SQLITE_ROW else { throw VersioningError(.io, "metadata database: reading files failed (\(rc))") }
                let clean = sqlite3_column_int(s, 4) != 0
                rows.append(CachedFile(
                    path: columnString(s, 0),
                    stat: FileStat(size: Int(sqlite3_column_int64(s, 1)), mtimeNanoseconds: sqlite3_column_int64(s, 2),
                                   inode: UInt64(bitPattern: sqlite3_column_int64(s, 3))),
                    clean: clean, uncommitted: sqlite3_column_int(s, 5) != 0,
                    hash: clean ? nil : columnHash(s, 6), committed: clean ? nil : columnHash(s, 7)))
            }
            let labels = try String.fetchAll(db, sql: "SELECT path FROM labels WHERE hash IS NOT committed ORDER BY path")
            var schemaChanged = false
            if let json = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'schema'") {
                let committed = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'committed_schema'").flatMap(ContentHash.init(hex:))
                if let schema = try? JSONDecoder().decode(LabelSchema.self, from: Data(json.utf8)) {
                    schemaChanged = ContentHash.of(LabelCodec.encodeSchema(schema)) != committed
                }
            }
            return (rows, roots, labels, schemaChanged)
        }
        let scanned = try tree.sortedScan(roots: roots, expected: rows.count)
        var status = Status()
        status.labelsChanged = labelsChanged
        status.schemaChanged = schemaChanged
        // Paths whose content must be (re)hashed, with the committed content when the path is in HEAD.
        var toHash: [(path: String, committed: ContentHash?, uncommitted: Bool)] = []
        var deletedRows: [Int] = []
        var cachedAdded: [(String, ContentHash)] = []
        var i = 0, j = 0
        while i < rows.count || j < scanned.count {
            let order: Int
            if i == rows.count { order = 1 } else if j == scanned.count { order = -1 } else { order = compareBytes(rows[i].path, scanned[j].path) }
            if order < 0 {
                if !rows[i].uncommitted { deletedRows.append(i) }
                i += 1
            } else if order > 0 {
                toHash.append((scanned[j].path, nil, true))
                j += 1
            } else {
                let row = rows[i]
                if row.stat == scanned[j].stat, !row.uncommitted {
                    if !row.clean { status.modified.append(row.path) }
                } else if row.stat == scanned[j].stat, let hash = row.hash {
                    cachedAdded.append((row.path, hash))  // added since HEAD; its hash is cached
                } else {
                    toHash.append((row.path, row.committed, row.uncommitted))
                }
                i += 1
                j += 1
            }
        }
        // Committed hashes of deleted rows that were clean were not parsed: fetch those few now.
        var deleted: [(String, ContentHash)] = []
        let needCommitted = deletedRows.filter { rows[$0].committed == nil } + toHash.indices.filter { !toHash[$0].uncommitted && toHash[$0].committed == nil }.map { -1 - $0 }
        var committedOf: [String: ContentHash] = [:]
        if !needCommitted.isEmpty {
            let paths = needCommitted.map { $0 >= 0 ? rows[$0].path : toHash[-1 - $0].path }
            committedOf = try read("reading the index") { db in
                var result: [String: ContentHash] = [:]
                let statement = try db.makeStatement(sql: "SELECT committed FROM files WHERE path = ?")
                for path in paths {
                    if let hex = try String.fetchOne(statement, arguments: [path]), let hash = ContentHash(hex: hex) { result[path] = hash }
                }
                return result
            }
        }
        for index in deletedRows {
            if let committed = rows[index].committed ?? committedOf[rows[index].path] { deleted.append((rows[index].path, committed)) }
        }
        let hashed = try Hasher(tree: tree).hash(toHash.map(\.path), store: nil, known: []).contents
        var added = cachedAdded
        for entry in toHash {
            guard let hash = hashed[entry.path]?.hash else { continue }
            if !entry.uncommitted, let committed = entry.committed ?? committedOf[entry.path] {
                if committed != hash { status.modified.append(entry.path) }
            } else {
                added.append((entry.path, hash))
            }
        }
        // Renames pair deleted and added paths with the same content, in path order.
        var deletedByHash: [ContentHash: [String]] = [:]
        for (path, hash) in deleted { deletedByHash[hash, default: []].append(path) }
        var renamedFrom = Set<String>()
        added.sort { compareBytes($0.0, $1.0) < 0 }
        for (path, hash) in added {
            if var candidates = deletedByHash[hash], !candidates.isEmpty {
                let from = candidates.removeFirst()
                deletedByHash[hash] = candidates
                status.renamed.append(.init(from: from, to: path))
                renamedFrom.insert(from)
            } else {
                status.added.append(path)
            }
        }
        status.deleted = deleted.map(\.0).filter { !renamedFrom.contains($0) }
        status.modified.sort { compareBytes($0, $1) < 0 }
        return status
    }

}

/// memcmp order of UTF-8 bytes (SQLite's BINARY collation), unlike String's `<`.
@inline(__always)
func compareBytes(_ a: String, _ b: String) -> Int {
    var a = a, b = b
    return a.withUTF8 { x in
        b.withUTF8 { y in
            let n = min(x.count, y.count)
            let c = n == 0 ? 0 : memcmp(x.baseAddress!, y.baseAddress!, n)
            if c != 0 { return c < 0 ? -1 : 1 }
            return x.count == y.count ? 0 : (x.count < y.count ? -1 : 1)
        }
    }
}

extension WorkingTree {
    /// Files under the roots in SQLite BINARY (byte) order of their relative paths: each folder's entries are
    /// sorted with sub-folders keyed as `name/`, so a depth-first walk yields the flat sorted order.
    func sortedScan(roots: [String], expected: Int) throws(VersioningError) -> [ScannedFile] {
        var out: [ScannedFile] = []
        out.reserveCapacity(expected)
        var keyed: [(key: String, path: String, isDirectory: Bool, stat: FileStat?)] = []
        for root in roots {
            var st = stat()
            guard lstat(fullPath(root), &st) == 0 else { continue }
            let isDirectory = (st.st_mode & S_IFMT) == S_IFDIR
            keyed.append((isDirectory && !root.isEmpty ? root + "/" : root, root, isDirectory, nil))
        }
        keyed.sort { compareBytes($0.key, $1.key) < 0 }
        for root in keyed {
            if root.isDirectory {
                try walkSorted(fullPath(root.path), relative: root.path, into: &out)
            } else if let single = try scan(roots: [root.path]).first {
                out.append(ScannedFile(path: single.key, stat: single.value))
            }
        }
        return out
    }

    private func walkSorted(_ directory: String, relative: String, into out: inout [ScannedFile]) throws(VersioningError) {
        guard let dir = opendir(directory) else {
            throw VersioningError(.badPath, "\(directory): cannot read the folder: \(String(cString: strerror(errno)))")
        }
        var entries: [DirectoryEntry] = []
        do {
            defer { closedir(dir) }
            let dirFD = dirfd(dir)
            while let entry = readdir(dir) {
                guard let name = try entryName(entry, in: relative) else { continue }
                if name == ".curate" || name == ".git" { continue }
                var st = stat()
                guard fstatat(dirFD, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
                    throw VersioningError(.badPath, "\(directory)/\(name): cannot stat: \(String(cString: strerror(errno)))")
                }
                switch st.st_mode & S_IFMT {
                case S_IFDIR:
                    entries.append(DirectoryEntry(key: name + "/", name: name, isDirectory: true, stat: FileStat(size: 0, mtimeNanoseconds: 0, inode: 0)))
                case S_IFREG:
                    entries.append(DirectoryEntry(key: name, name: name, isDirectory: false, stat: FileStat(
                        size: Int(st.st_size), mtimeNanoseconds: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
                        inode: UInt64(st.st_ino))))
                case S_IFLNK:
                    let child = relative.isEmpty ? name : relative + "/" + name
                    if let s = try fileStat(fullPath(child), relative: child, st) { entries.append(DirectoryEntry(key: name, name: name, isDirectory: false, stat: s)) }
                default: continue
                }
            }
        }
        let order = entries.indices.sorted { compareBytes(entries[$0].key, entries[$1].key) < 0 }
        for k in order {
            let e = entries[k]
            let child = relative.isEmpty ? e.name : relative + "/" + e.name
            if e.isDirectory { try walkSorted(directory + "/" + e.name, relative: child, into: &out) } else { out.append(ScannedFile(path: child, stat: e.stat)) }
        }
    }
}

/// A file found by the sorted walk.
struct ScannedFile {
    var path: String
    var stat: FileStat
}

/// One entry of a folder while it is being sorted (folders keyed `name/`).
struct DirectoryEntry {
    var key: String
    var name: String
    var isDirectory: Bool
    var stat: FileStat
}
