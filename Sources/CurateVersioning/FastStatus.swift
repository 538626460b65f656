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
        let (rows, roots, labelsChanged, schemaChanged, checkedOut) = try read("reading the index") { db -> (PathTable, [String], [String], Bool, String?) in
            let roots = try String.fetchAll(db, sql: "SELECT path FROM roots ORDER BY path")
            var rows = PathTable()
            rows.reserve(4096)
            // Hashes are only parsed where they matter: a clean row compares them in SQL.
            let statement = try db.makeStatement(sql: "SELECT path, size, mtime, inode, hash IS committed, committed IS NULL, hash, committed FROM files ORDER BY path")
            let s = statement.sqliteStatement
            while true {
                let rc = sqlite3_step(s)
                if rc == SQLITE_DONE { break }
                guard rc == SQLITE_ROW else { throw VersioningError(.io, "metadata database: reading files failed (\(rc))") }
                let clean = sqlite3_column_int(s, 4) != 0
                let text = sqlite3_column_text(s, 0)
                let length = Int(sqlite3_column_bytes(s, 0))
                rows.append(UnsafeRawBufferPointer(start: text, count: length),
                            stat: FileStat(size: Int(sqlite3_column_int64(s, 1)), mtimeNanoseconds: sqlite3_column_int64(s, 2),
                                           inode: UInt64(bitPattern: sqlite3_column_int64(s, 3))),
                            clean: clean, uncommitted: sqlite3_column_int(s, 5) != 0,
                            hash: clean ? nil : columnHash(s, 6), committed: clean ? nil : columnHash(s, 7))
            }
            let labels = try String.fetchAll(db, sql: "SELECT path FROM labels WHERE hash IS NOT committed ORDER BY path")
            var schemaChanged = false
            if let json = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'schema'") {
                let committed = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'committed_schema'").flatMap(ContentHash.init(hex:))
                if let schema = try? JSONDecoder().decode(LabelSchema.self, from: Data(json.utf8)) {
                    schemaChanged = ContentHash.of(LabelCodec.encodeSchema(schema)) != committed
                }
            }
            return (rows, roots, labels, schemaChanged, try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'checkout'"))
        }
        let scanned = try tree.sortedScan(roots: roots, expected: rows.count)
        var status = Status()
        status.labelsChanged = labelsChanged
        status.schemaChanged = schemaChanged
        status.checkedOut = checkedOut.flatMap { $0 == headID() ? nil : ContentHash(hex: $0) }
        // Paths whose content must be (re)hashed, with the committed content when the path is in HEAD.
        var toHash: [(path: String, committed: ContentHash?, uncommitted: Bool)] = []
        var deletedRows: [Int] = []
        var cachedAdded: [(String, ContentHash)] = []
        var i = 0, j = 0
        while i < rows.count || j < scanned.count {
            let order: Int
            if i == rows.count { order = 1 } else if j == scanned.count { order = -1 } else { order = PathTable.compare(rows, i, scanned, j) }
            if order < 0 {
                // A file of a partial clone that was never checked out is not a deletion.
                if !rows.rows[i].uncommitted && rows.rows[i].stat.mtimeNanoseconds != Index.notCheckedOut { deletedRows.append(i) }
                i += 1
            } else if order > 0 {
                toHash.append((scanned.path(j), nil, true))
                j += 1
            } else {
                let row = rows.rows[i]
                if row.stat == scanned.rows[j].stat, !row.uncommitted {
                    if !row.clean { status.modified.append(rows.path(i)) }
                } else if row.stat == scanned.rows[j].stat, let hash = row.hash {
                    cachedAdded.append((rows.path(i), hash))  // added since HEAD; its hash is cached
                } else {
                    toHash.append((rows.path(i), row.committed, row.uncommitted))
                }
                i += 1
                j += 1
            }
        }
        // Committed hashes of deleted rows that were clean were not parsed: fetch those few now.
        var deleted: [(String, ContentHash)] = []
        let needCommitted = deletedRows.filter { rows.rows[$0].committed == nil } + toHash.indices.filter { !toHash[$0].uncommitted && toHash[$0].committed == nil }.map { -1 - $0 }
        var committedOf: [String: ContentHash] = [:]
        if !needCommitted.isEmpty {
            let paths = needCommitted.map { $0 >= 0 ? rows.path($0) : toHash[-1 - $0].path }
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
            let path = rows.path(index)
            if let committed = rows.rows[index].committed ?? committedOf[path] { deleted.append((path, committed)) }
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
        let pairs = pairRenames(removed: deleted, added: added)
        (status.renamed, status.added, status.deleted) = (pairs.renamed, pairs.added, pairs.removed)
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
    /// sorted with sub-folders keyed as `name/`, so a depth-first walk yields the flat sorted order. Paths are
    /// built in one byte arena: no String per file.
    func sortedScan(roots: [String], expected: Int) throws(VersioningError) -> PathTable {
        var out = PathTable()
        out.reserve(expected)
        var keyed: [(key: String, path: String, isDirectory: Bool)] = []
        var stats: [String: stat] = [:]
        for root in roots {
            var st = stat()
            guard lstat(fullPath(root), &st) == 0 else { continue }  // a tracked root that is gone: its files show as deleted
            let isDirectory = (st.st_mode & S_IFMT) == S_IFDIR
            keyed.append((isDirectory && !root.isEmpty ? root + "/" : root, root, isDirectory))
            stats[root] = st
        }
        keyed.sort { compareBytes($0.key, $1.key) < 0 }
        var prefix: [UInt8] = []
        var names = NameArena()
        for root in keyed {
            prefix = Array(root.path.utf8)
            if root.isDirectory {
                try walkSorted(fullPath(root.path), relative: root.path, prefix: &prefix, names: &names, into: &out, parallel: true)
            } else if let st = stats[root.path], [S_IFREG, S_IFLNK].contains(st.st_mode & S_IFMT),
                      let single = try fileStat(fullPath(root.path), relative: root.path, st) {
                prefix.withUnsafeBytes { out.append($0, stat: single) }
            }
        }
        return out
    }

    /// With `parallel`, the first folder with several sub-folders has them walked on both cores, each into its own
    /// table, joined in order: the result and the first error are the sequential walk's (folders are walked whole,
    /// each failure kept, and the first in sorted order thrown); the stat calls, most of a clean status's time,
    /// are spread over the cores.
    private func walkSorted(_ directory: String, relative: String, prefix: inout [UInt8], names: inout NameArena,
                            into out: inout PathTable, parallel: Bool = false) throws(VersioningError) {
        guard let dir = opendir(directory) else {
            throw VersioningError(.badPath, "\(directory): cannot read the folder: \(String(cString: strerror(errno)))")
        }
        let mark = names.mark
        defer { names.reset(to: mark) }
        var entries: [DirectoryEntry] = []
        do {
            defer { closedir(dir) }
            let dirFD = dirfd(dir)
            while let entry = readdir(dir) {
                // The name lives in the DIR's buffer until the next readdir.
                let base = UnsafeRawPointer(entry) + MemoryLayout<dirent>.offset(of: \dirent.d_name)!
                let name = UnsafeRawBufferPointer(start: base, count: strlen(base.assumingMemoryBound(to: CChar.self)))
                if skippedName(name) { continue }
                // Names that are not printable ASCII go through the validating path (UTF-8, no control characters).
                if !name.allSatisfy({ $0 >= 0x20 && $0 < 0x7f }) { _ = try entryName(entry, in: relative) }
                var st = stat()
                guard fstatat(dirFD, base.assumingMemoryBound(to: CChar.self), &st, AT_SYMLINK_NOFOLLOW) == 0 else {
                    throw VersioningError(.badPath, "\(directory)/\(String(decoding: name, as: UTF8.self)): cannot stat: \(String(cString: strerror(errno)))")
                }
                let kind = st.st_mode & S_IFMT
                var fileStat = FileStat(size: Int(st.st_size), mtimeNanoseconds: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
                                        inode: UInt64(st.st_ino))
                if kind == S_IFLNK {
                    let text = String(decoding: name, as: UTF8.self)
                    let child = relative.isEmpty ? text : relative + "/" + text
                    guard let resolved = try self.fileStat(fullPath(child), relative: child, st) else { continue }
                    fileStat = resolved
                } else if kind != S_IFREG && kind != S_IFDIR {
                    continue
                }
                let range = names.add(name)
                entries.append(DirectoryEntry(name: range, isDirectory: kind == S_IFDIR, stat: fileStat))
            }
        }
        let order = entries.indices.sorted { names.compareKeys(entries[$0], entries[$1]) < 0 }
        let folders = order.filter { entries[$0].isDirectory }
        var walked: [Int: Result<PathTable, VersioningError>] = [:]
        if parallel && folders.count >= 2 {
            let jobs = folders.map { k -> (index: Int, directory: String, relative: String, prefix: [UInt8]) in
                let name = names.string(entries[k].name)
                let child = prefix + (prefix.isEmpty ? [] : [UInt8(ascii: "/")]) + Array(name.utf8)
                return (k, directory + "/" + name, relative.isEmpty ? name : relative + "/" + name, child)
            }
            var results = [Result<PathTable, VersioningError>?](repeating: nil, count: jobs.count)
            results.withUnsafeMutableBufferPointer { slots in
                nonisolated(unsafe) let slots = slots  // each job writes its own slot
                DispatchQueue.concurrentPerform(iterations: jobs.count) { j in
                    var table = PathTable(), arena = NameArena(), path = jobs[j].prefix
                    slots[j] = Result { () throws(VersioningError) in
                        try walkSorted(jobs[j].directory, relative: jobs[j].relative, prefix: &path, names: &arena, into: &table)
                        return table
                    }
                }
            }
            for (j, job) in jobs.enumerated() { walked[job.index] = results[j] }
        }
        for k in order {
            let e = entries[k]
            if let result = walked[k] {
                out.append(contentsOf: try result.get())
                continue
            }
            let saved = prefix.count
            if !prefix.isEmpty { prefix.append(UInt8(ascii: "/")) }
            names.appendName(e.name, to: &prefix)
            if e.isDirectory {
                let name = names.string(e.name)
                let child = relative.isEmpty ? name : relative + "/" + name
                // A lone sub-folder (else the split above took them all): look for the split further down.
                try walkSorted(directory + "/" + name, relative: child, prefix: &prefix, names: &names, into: &out,
                               parallel: parallel && folders.count == 1)
            } else {
                prefix.withUnsafeBytes { out.append($0, stat: e.stat) }
            }
            prefix.removeSubrange(saved...)
        }
    }
}

/// `.`, `..`, `.curate`, `.git` and Curate's own temporary files (`.curate-tmp-*`, left by a killed checkout)
/// are never part of the dataset.
private func skippedName(_ name: UnsafeRawBufferPointer) -> Bool {
    switch name.count {
    case 1: return name[0] == 0x2E
    case 2: return name[0] == 0x2E && name[1] == 0x2E
    case 4: return name.elementsEqual(".git".utf8)
    case 7: return name.elementsEqual(".curate".utf8)
    default: return name.count > temporaryPrefix.count && name.starts(with: temporaryPrefix)
    }
}

/// The name prefix of Curate's temporary files in working folders.
let temporaryPrefix = Array(".curate-tmp-".utf8)

/// Paths (as bytes in one arena) with their stat and cache facts, in sorted order.
struct PathTable {
    struct Row {
        var start: Int
        var length: Int
        var stat: FileStat
        var clean = false
        var uncommitted = false
        var hash: ContentHash?
        var committed: ContentHash?
    }

    private(set) var bytes: [UInt8] = []
    private(set) var rows: [Row] = []
    var count: Int { rows.count }

    mutating func reserve(_ n: Int) {
        rows.reserveCapacity(n)
        bytes.reserveCapacity(n * 32)
    }

    mutating func append(_ path: UnsafeRawBufferPointer, stat: FileStat, clean: Bool = false, uncommitted: Bool = false,
                         hash: ContentHash? = nil, committed: ContentHash? = nil) {
        rows.append(Row(start: bytes.count, length: path.count, stat: stat, clean: clean, uncommitted: uncommitted, hash: hash, committed: committed))
        bytes.append(contentsOf: path)
    }

    /// Appends every row of `other`, after this table's.
    mutating func append(contentsOf other: PathTable) {
        let offset = bytes.count
        bytes.append(contentsOf: other.bytes)
        rows.append(contentsOf: other.rows.lazy.map { row in
            var moved = row
            moved.start += offset
            return moved
        })
    }

    func path(_ i: Int) -> String {
        let row = rows[i]
        return bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[row.start..<(row.start + row.length)]), as: UTF8.self) }
    }

    /// memcmp order of row `i` of `a` against row `j` of `b`.
    static func compare(_ a: PathTable, _ i: Int, _ b: PathTable, _ j: Int) -> Int {
        let x = a.rows[i], y = b.rows[j]
        let n = min(x.length, y.length)
        let c = a.bytes.withUnsafeBytes { pa in b.bytes.withUnsafeBytes { pb in n == 0 ? 0 : memcmp(pa.baseAddress! + x.start, pb.baseAddress! + y.start, n) } }
        if c != 0 { return c < 0 ? -1 : 1 }
        return x.length == y.length ? 0 : (x.length < y.length ? -1 : 1)
    }
}

/// Entry names of the folders being walked, in one arena (reset as the walk leaves a folder).
struct NameArena {
    private var bytes: [UInt8] = []
    var mark: Int { bytes.count }

    mutating func reset(to mark: Int) { bytes.removeSubrange(mark...) }

    mutating func add(_ name: UnsafeRawBufferPointer) -> Range<Int> {
        let start = bytes.count
        bytes.append(contentsOf: name)
        return start..<bytes.count
    }

    func appendName(_ range: Range<Int>, to path: inout [UInt8]) { path.append(contentsOf: bytes[range]) }

    func string(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }

    /// Compares entries by name, a folder's name counting as followed by `/` (SQLite's order of the full paths).
    func compareKeys(_ a: DirectoryEntry, _ b: DirectoryEntry) -> Int {
        bytes.withUnsafeBytes { raw in
            let n = min(a.name.count, b.name.count)
            let c = n == 0 ? 0 : memcmp(raw.baseAddress! + a.name.lowerBound, raw.baseAddress! + b.name.lowerBound, n)
            if c != 0 { return c < 0 ? -1 : 1 }
            if a.name.count == b.name.count { return a.isDirectory == b.isDirectory ? 0 : (a.isDirectory ? 1 : -1) }
            // One name is a prefix of the other: the next byte decides, '/' for a folder that ended.
            let nextA: UInt8 = a.name.count > n ? raw[a.name.lowerBound + n] : (a.isDirectory ? UInt8(ascii: "/") : 0)
            let nextB: UInt8 = b.name.count > n ? raw[b.name.lowerBound + n] : (b.isDirectory ? UInt8(ascii: "/") : 0)
            return nextA < nextB ? -1 : (nextA > nextB ? 1 : 0)
        }
    }
}

/// One entry of a folder while it is being sorted.
struct DirectoryEntry {
    var name: Range<Int>
    var isDirectory: Bool
    var stat: FileStat
}
