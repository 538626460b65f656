import CurateCore
import CurateImaging
import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#endif

/// What `add` did.
package struct AddReport: Sendable, Codable {
    /// Tracked roots after the add.
    package var roots: [String]
    /// Files found under the added paths.
    package var files: Int
    /// Files whose content was hashed now (the rest were vouched for by the stat cache).
    package var hashed: Int
    /// Contents stored for the first time (the rest were already in the store: deduplicated).
    package var storedObjects: Int
    /// Items whose labels were imported.
    package var labeledItems: Int
    /// Label records skipped in lenient mode.
    package var skipped: [LabelIssue]
    /// Files the reflink mode had to copy because the file system cannot clone.
    package var reflinkFallbacks: Int
}

extension Repository {
    /// Tracks files and folders and imports labels. Contents are hashed on every core and stored once;
    /// unchanged files (same size, mtime and inode as last seen) are not read again.
    /// Nothing is recorded unless every file could be read and every label record is valid.
    /// - Parameters:
    ///   - paths: files or folders, relative to the current folder or absolute; must be inside the repository.
    ///   - labels: a label file to import; its items must be tracked files.
    ///   - link: how the store shares bytes with the working files.
    ///   - wait: seconds to wait for the writer lock.
    package func add(_ paths: [String], labels: LabelImport? = nil, link: LinkMode = .copy, wait: Double = 0) throws(VersioningError) -> AddReport {
        try writing(wait: wait) { () throws(VersioningError) -> AddReport in
            var relative: [String] = []
            for path in paths { relative.append(try relativePath(path)) }
            var index = try read("reading the index") { db in try Index.load(db) }
            var roots = Set(index.roots)
            for path in relative where !index.isTracked(path) {
                roots = roots.filter { !(path.isEmpty || $0.hasPrefix(path + "/")) }
                roots.insert(path)
            }
            index.roots = roots.sorted()
            let known = try read("reading objects") { db in try knownHashes(db) }
            // Hash (and, in copy mode, store) what the stat cache cannot vouch for under the added paths.
            var state = try workingState(index, roots: relative.isEmpty ? index.roots : relative, store: link == .copy, known: known)
            var stored = state.packs.reduce(0) { $0 + $1.count }
            var fallbacks = 0
            if link != .copy {
                let result = try linkObjects(state, known: known, mode: link)
                state.packs.append(result.entries)
                stored = result.entries.count
                fallbacks = result.fallbacks
            }
            // Labels, validated completely before anything is written.
            var imported: (schema: LabelSchema, bodies: [String: (body: Data, classes: String)], skipped: [LabelIssue])?
            if let labels {
                imported = try importLabels(labels, index: index, present: state.contents)
            }
            let finalState = state
            let finalRoots = index.roots
            let previousLabels = index.labels
            let importedLabels = imported
            try write("recording the add") { db in
                try db.execute(sql: "DELETE FROM roots")
                for root in finalRoots { try db.execute(sql: "INSERT INTO roots (path) VALUES (?)", arguments: [root]) }
                try insertObjects(db, finalState.packs)
                try upsertFiles(db, finalState, paths: finalState.rehashed, committed: nil)
                if let importedLabels {
                    let statement = try RawStatement(db, "INSERT INTO labels (path, hash) VALUES (?, ?) ON CONFLICT(path) DO UPDATE SET hash = excluded.hash")
                    let bodies = try RawStatement(db, "INSERT OR IGNORE INTO label_bodies (hash, body) VALUES (?, ?)")
                    let classes = try RawStatement(db, "INSERT OR IGNORE INTO label_classes (hash, classes) VALUES (?, ?)")
                    // Each table in its own key order (see insertObjects).
                    // Only labels that differ from the working labels are written: a re-import of a whole label
                    // file after a small relabeling touches only the changed rows.
                    let hashed = importedLabels.bodies.map { (path: $0.key, hash: ContentHash.of($0.value.body), entry: $0.value) }
                        .filter { previousLabels[$0.path]?.hash != $0.hash }
                    for row in hashed.sorted(by: { compareBytes($0.path, $1.path) < 0 }) {
                        try statement.run([.text(row.path), .text(row.hash.hex)])
                    }
                    for row in hashed.sorted(by: { $0.hash < $1.hash }) {
                        try bodies.run([.text(row.hash.hex), .blob(row.entry.body)])
                        try classes.run([.text(row.hash.hex), .text(row.entry.classes)])
                    }
                    let schemaJSON = String(decoding: LabelCodec.encodeSchema(importedLabels.schema), as: UTF8.self)
                    try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('schema', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                                   arguments: [schemaJSON])
                }
            }
            return AddReport(roots: finalRoots, files: state.contents.count, hashed: state.rehashed.count, storedObjects: stored,
                             labeledItems: imported?.bodies.count ?? 0, skipped: imported?.skipped ?? [], reflinkFallbacks: fallbacks)
        }
    }

    /// Reads a label file, maps its item paths to repository paths, merges its classes into the working schema
    /// (by name; new names get new ids) and encodes each item's annotations.
    func importLabels(_ labels: LabelImport, index: Index, present presentFiles: [String: FileContent]) throws(VersioningError)
        -> (schema: LabelSchema, bodies: [String: (body: Data, classes: String)], skipped: [LabelIssue])
    {
        let labelPath = labels.path
        let defaultRoot = labels.format.isFolder ? ((labelPath as NSString).standardizingPath as NSString).deletingLastPathComponent
            : (labelPath as NSString).deletingLastPathComponent
        let imagesRoot = labels.imagesRoot ?? (defaultRoot.isEmpty ? "." : defaultRoot)
        let rootRelative = try relativePath(imagesRoot)
        // Sizes and existence come from the scan just made (sizes read from each file's header while hashing).
        let prefix = rootRelative.isEmpty ? "" : rootRelative + "/"
        var known: [String: (Int, Int)] = [:]
        var existing = Set<String>()
        for (path, content) in presentFiles where prefix.isEmpty || path.hasPrefix(prefix) {
            let relative = String(path.dropFirst(prefix.count))
            existing.insert(relative)
            if let w = content.width, let h = content.height { known[relative] = (w, h) }
        }
        for (path, row) in index.files where prefix.isEmpty || path.hasPrefix(prefix) {
            let relative = String(path.dropFirst(prefix.count))
            if existing.insert(relative).inserted, let w = row.content.width, let h = row.content.height { known[relative] = (w, h) }
        }
        let sizes = known, present = existing
        let rootPath = (try? canonical(imagesRoot)) ?? imagesRoot
        var options = LabelReadOptions(imagesRoot: imagesRoot, lenient: labels.lenient, imageSize: { path in
            let relative = path.hasPrefix(imagesRoot + "/") ? String(path.dropFirst(imagesRoot.count + 1))
                : path.hasPrefix(rootPath + "/") ? String(path.dropFirst(rootPath.count + 1)) : path
            if let size = sizes[relative] { return (width: size.0, height: size.1) }
            if present.contains(relative) { return nil }  // scanned: not a PNG or JPEG
            return (try? ImageDecoder().info(fileAt: path))?.displaySize
        })
        options.itemExists = { present.contains($0) }
        let result: LabelReadResult
        do { result = try labels.format.read(from: labelPath, options: options) } catch {
            throw VersioningError(error.kind == .notFound ? .notFound : .labels, error.description)
        }
        var schema = index.schema ?? LabelSchema(classes: [])
        var remap: [Int: Int] = [:]
        for c in result.labelSet.schema.classes {
            if let id = schema.id(named: c.name) {
                remap[c.id] = id
            } else if schema.labelClass(id: c.id) == nil {
                // Keep the file's own id (a COCO category id) while it is free.
                schema = LabelSchema(classes: schema.classes + [LabelClass(id: c.id, name: c.name)], tasks: schema.tasks)
                remap[c.id] = c.id
            } else {
                remap[c.id] = schema.addClass(named: c.name)
            }
        }
        var merged = schema.classes
        for (i, c) in merged.enumerated() {
            if let source = result.labelSet.schema.classes.first(where: { $0.name == c.name }) {
                merged[i].supercategory = merged[i].supercategory ?? source.supercategory
                if merged[i].keypointNames.isEmpty { merged[i].keypointNames = source.keypointNames; merged[i].skeleton = source.skeleton }
            }
        }
        schema = LabelSchema(classes: merged, tasks: Array(Set(schema.tasks + result.labelSet.schema.tasks)).sorted { $0.rawValue < $1.rawValue })
        let grouped = result.labelSet.annotationsByItem()
        var bodies: [String: (body: Data, classes: String)] = [:]
        for item in result.labelSet.items {
            let path = rootRelative.isEmpty ? item.path : rootRelative + "/" + item.path
            guard index.isTracked(path), presentFiles[path] != nil || index.files[path] != nil else {
                throw VersioningError(.labels, "\(labelPath): labels for '\(path)', which is not a tracked file; add it first (nothing was changed)")
            }
            let annotations = (grouped[item.path] ?? []).map { a -> Annotation in
                var copy = a
                copy.item = path
                switch a.label {
                case .classification(let c): copy.label = .classification(remap[c] ?? c)
                case .multilabel(let cs): copy.label = .multilabel(cs.map { remap[$0] ?? $0 }.sorted())
                case .span(let s, let c): copy.label = .span(s, classID: remap[c] ?? c)
                case .object(var o): o.classID = remap[o.classID] ?? o.classID; copy.label = .object(o)
                }
                return copy
            }
            bodies[path] = (LabelCodec.encode(annotations), DatasetStats.classSummary(annotations))
        }
        return (schema, bodies, result.skipped)
    }

    /// Hard-links or clones new contents into loose objects, making hard-linked files read-only and
    /// re-verifying each object's bytes after linking.
    func linkObjects(_ state: WorkingState, known: Set<ContentHash>, mode: LinkMode) throws(VersioningError)
        -> (entries: [(ContentHash, ObjectLocation)], fallbacks: Int)
    {
        var entries: [(ContentHash, ObjectLocation)] = []
        var fallbacks = 0
        var done = Set<ContentHash>()
        for path in state.rehashed.sorted() {
            guard let content = state.contents[path], !known.contains(content.hash), done.insert(content.hash).inserted else { continue }
            let object = store.loosePath(content.hash)
            let directory = (object as NSString).deletingLastPathComponent
            mkdir(directory, 0o755)
            let source = tree.fullPath(path)
            switch mode {
            case .hardlink:
                if link(source, object) != 0, errno != EEXIST {
                    throw VersioningError(.io, "\(source): cannot hard-link into the store: \(String(cString: strerror(errno))) (use --link copy across file systems)")
                }
                chmod(object, 0o444)  // the working file shares the inode: edits in place are refused
            case .reflink, .copy:
                if try !cloneFile(from: source, to: object) { fallbacks += 1 }
            }
            // Re-verify: the file may have changed between hashing and linking.
            let data = try store.read(content.hash, at: ObjectLocation(pack: nil, offset: 0, length: content.size))
            guard ContentHash.of(data) == content.hash else {
                unlink(object)
                throw VersioningError(.badPath, "\(source): changed while being added; retry (nothing was changed)")
            }
            entries.append((content.hash, ObjectLocation(pack: nil, offset: 0, length: content.size)))
        }
        fsyncDirectory(store.objectsDirectory)
        return (entries, fallbacks)
    }

    /// Clones with FICLONE where the file system can, else copies; temp file, fsync, rename. Returns false on fallback.
    func cloneFile(from source: String, to destination: String) throws(VersioningError) -> Bool {
        let temporary = destination + ".tmp-\(getpid())"
        let input = Glibc.open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw VersioningError(.badPath, "\(source): cannot read: \(String(cString: strerror(errno)))") }
        defer { close(input) }
        let output = Glibc.open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o444)
        guard output >= 0 else { throw VersioningError(.io, "\(temporary): cannot create: \(String(cString: strerror(errno)))") }
        let ficlone: UInt = 0x4004_9409
        var cloned = ioctl(output, ficlone, input) == 0
        if !cloned {
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            var offset: off_t = 0
            while true {
                let n = buffer.withUnsafeMutableBytes { pread(input, $0.baseAddress!, $0.count, offset) }
                if n < 0 { if errno == EINTR { continue }; close(output); unlink(temporary); throw VersioningError(.badPath, "\(source): read failed") }
                if n == 0 { break }
                let w = buffer.withUnsafeBytes { Glibc.write(output, $0.baseAddress!, n) }
                if w != n { close(output); unlink(temporary); throw VersioningError(.io, "\(temporary): write failed") }
                offset += off_t(n)
            }
            cloned = false
        }
        fsync(output)
        close(output)
        guard rename(temporary, destination) == 0 else { unlink(temporary); throw VersioningError(.io, "\(destination): rename failed") }
        return cloned
    }
}
