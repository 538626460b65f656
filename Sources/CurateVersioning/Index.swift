import CurateCore
import Foundation
import GRDB
import GRDBSQLite

/// What the metadata database knows about the working tree: the stat cache and the committed state.
struct Index: Sendable {
    struct FileRow: Sendable {
        var stat: FileStat
        var content: FileContent
        /// The content at HEAD, or nil when the path is not in HEAD.
        var committed: ContentHash?
    }

    struct LabelRow: Sendable {
        var hash: ContentHash?
        var body: Data?
        var committed: ContentHash?
    }

    /// The `mtime` of a row whose file is in HEAD but was never checked out (a partial clone, `clone --paths` or
    /// `--no-blobs`): status counts it as present and unchanged until a checkout writes it.
    static let notCheckedOut: Int64 = -2

    var roots: [String] = []
    var files: [String: FileRow] = [:]
    var labels: [String: LabelRow] = [:]
    var head: ContentHash?
    var schema: LabelSchema?
    var committedSchema: ContentHash?

    /// Which label rows to load.
    enum Labels { case all, allWithBodies }

    static func load(_ db: Database, labelBodies: Bool = false) throws -> Index {
        try load(db, labels: labelBodies ? .allWithBodies : .all)
    }

    /// Loads the index with SQLite's C API directly: this runs on every `status`, over every tracked file.
    static func load(_ db: Database, labels mode: Labels) throws -> Index {
        var index = Index()
        index.roots = try String.fetchAll(db, sql: "SELECT path FROM roots ORDER BY path")
        let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM files") ?? 0
        index.files.reserveCapacity(count)
        let files = try db.makeStatement(sql: "SELECT path, size, mtime, inode, hash, width, height, committed FROM files")
        let s = files.sqliteStatement
        while true {
            let rc = sqlite3_step(s)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw VersioningError(.io, "metadata database: reading files failed (\(rc))") }
            let path = columnString(s, 0)
            let size = Int(sqlite3_column_int64(s, 1))
            let hash = columnHash(s, 4) ?? ContentHash(trusted: "")
            index.files[path] = FileRow(
                stat: FileStat(size: size, mtimeNanoseconds: sqlite3_column_int64(s, 2), inode: UInt64(bitPattern: sqlite3_column_int64(s, 3))),
                content: FileContent(hash: hash, size: size,
                                     width: sqlite3_column_type(s, 5) == SQLITE_NULL ? nil : Int(sqlite3_column_int64(s, 5)),
                                     height: sqlite3_column_type(s, 6) == SQLITE_NULL ? nil : Int(sqlite3_column_int64(s, 6))),
                committed: columnHash(s, 7))
        }
        let sql: String
        switch mode {
        case .all: sql = "SELECT path, hash, committed FROM labels"
        case .allWithBodies: sql = "SELECT labels.path, labels.hash, labels.committed, label_bodies.body FROM labels LEFT JOIN label_bodies ON label_bodies.hash = labels.hash"
        }
        let labels = try db.makeStatement(sql: sql)
        let l = labels.sqliteStatement
        while true {
            let rc = sqlite3_step(l)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw VersioningError(.io, "metadata database: reading labels failed (\(rc))") }
            var body: Data?
            if mode == .allWithBodies, let blob = sqlite3_column_blob(l, 3) {
                body = Data(bytes: blob, count: Int(sqlite3_column_bytes(l, 3)))
            } else if mode == .allWithBodies {
                body = sqlite3_column_type(l, 3) == SQLITE_NULL ? nil : Data()
            }
            index.labels[columnString(l, 0)] = LabelRow(hash: columnHash(l, 1), body: body, committed: columnHash(l, 2))
        }
        index.head = try String.fetchOne(db, sql: "SELECT commit_id FROM refs WHERE name = 'HEAD'").map(ContentHash.init(trusted:))
        if let json = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'schema'") {
            index.schema = try? JSONDecoder().decode(LabelSchema.self, from: Data(json.utf8))
        }
        index.committedSchema = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'committed_schema'").flatMap(ContentHash.init(hex:))
        return index
    }

    /// Whether `path` is a tracked root or inside one.
    func isTracked(_ path: String) -> Bool {
        roots.contains { $0.isEmpty || path == $0 || path.hasPrefix($0 + "/") }
    }
}

/// Files found in the working tree, hashed where the stat cache could not vouch for them.
struct WorkingState: Sendable {
    var contents: [String: FileContent]
    var stats: [String: FileStat]
    /// Paths whose content was hashed now (their stat-cache rows need updating).
    var rehashed: Set<String>
    var packs: [[(ContentHash, ObjectLocation)]]
}

extension Repository {
    /// Scans the tracked roots and hashes what the stat cache does not vouch for; with `storeInto`, stores new contents.
    func workingState(_ index: Index, roots: [String]? = nil, store: Bool, known: Set<ContentHash> = []) throws(VersioningError) -> WorkingState {
        let stats = try tree.scan(roots: roots ?? index.roots, expected: index.files.count + 16)
        var contents: [String: FileContent] = [:]
        contents.reserveCapacity(stats.count)
        var toHash: [String] = []
        for (path, stat) in stats {
            if let row = index.files[path], row.stat == stat, !store || known.contains(row.content.hash) {
                contents[path] = row.content
            } else {
                toHash.append(path)
            }
        }
        // Files of a partial clone that were never checked out keep their committed content.
        for (path, row) in index.files where row.stat.mtimeNanoseconds == Index.notCheckedOut && stats[path] == nil && index.isTracked(path) {
            contents[path] = row.content
        }
        let output = try Hasher(tree: tree).hash(toHash.sorted(), store: store ? self.store : nil, known: known)
        var finalStats = stats
        for (path, content) in output.contents {
            contents[path] = content
            finalStats[path] = output.stats[path]
        }
        return WorkingState(contents: contents, stats: finalStats, rehashed: Set(toHash), packs: output.packs)
    }

    /// Every stored object's location.
    func objectLocations(_ db: Database) throws -> [ContentHash: ObjectLocation] {
        var result: [ContentHash: ObjectLocation] = [:]
        let cursor = try Row.fetchCursor(db, sql: "SELECT hash, pack, offset, length FROM objects")
        while let row = try cursor.next() {
            result[ContentHash(trusted: row[0])] = ObjectLocation(pack: row[1], offset: row[2] ?? 0, length: row[3])
        }
        return result
    }

    func knownHashes(_ db: Database) throws -> Set<ContentHash> {
        var result = Set<ContentHash>()
        let cursor = try String.fetchCursor(db, sql: "SELECT hash FROM objects")
        while let hash = try cursor.next() { result.insert(ContentHash(trusted: hash)) }
        return result
    }

    func insertObjects(_ db: Database, _ packs: [[(ContentHash, ObjectLocation)]]) throws {
        let statement = try RawStatement(db, "INSERT OR IGNORE INTO objects (hash, pack, offset, length) VALUES (?, ?, ?, ?)")
        // Inserting in key order appends to the B-tree instead of touching random pages: far fewer dirty pages.
        for pack in [packs.joined().sorted { $0.0 < $1.0 }] {
            for (hash, location) in pack {
                try statement.run([.text(hash.hex), location.pack.sqlValue, location.pack == nil ? .null : .int(Int64(location.offset)),
                                   .int(Int64(location.length))])
            }
        }
    }

    func upsertFiles(_ db: Database, _ state: WorkingState, paths: some Sequence<String>, committed: ((String) -> ContentHash?)?) throws {
        let statement = try RawStatement(db, """
            INSERT INTO files (path, size, mtime, inode, hash, width, height, committed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
            ON CONFLICT(path) DO UPDATE SET size = excluded.size, mtime = excluded.mtime, inode = excluded.inode,
              hash = excluded.hash, width = excluded.width, height = excluded.height,
              committed = CASE WHEN ?9 THEN excluded.committed ELSE files.committed END
            """)
        for path in paths.sorted(by: { compareBytes($0, $1) < 0 }) {
            guard let content = state.contents[path], let stat = state.stats[path] else { continue }
            try statement.run([.text(path), .int(Int64(stat.size)), .int(stat.mtimeNanoseconds), .int(Int64(bitPattern: stat.inode)),
                               .text(content.hash.hex), content.width.sqlValue, content.height.sqlValue,
                               (committed?(path)?.hex).sqlValue, .int(committed != nil ? 1 : 0)])
        }
    }
}
