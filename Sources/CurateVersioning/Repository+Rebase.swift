import CurateCore
import Foundation

/// What `rebase` did.
package struct RebaseReport: Sendable, Codable {
    /// The commit the local ones were replayed on.
    package var onto: ContentHash
    /// Each local commit and its replayed copy, oldest first.
    package var replayed: [Replayed]
    /// The working tree's update to the new HEAD.
    package var checkout: FastForwardReport?

    package struct Replayed: Sendable, Codable {
        package var from: ContentHash
        package var to: ContentHash
    }
}

extension Repository {
    /// Replays the commits HEAD has and `upstream` lacks on top of `upstream` (as `git pull --rebase` does, per path):
    /// each keeps its author, date and message and changes the same files, labels and schema. A path both sides
    /// changed differently since they parted is a conflict, and nothing changes. Needs a clean working tree.
    /// When HEAD is behind `upstream`, this is a fast-forward; when it contains it, nothing happens.
    /// - Throws: `.wouldOverwrite` for uncommitted changes, `.invalid` naming the first conflicting path.
    package func rebase(onto upstream: ContentHash, wait: Double = 5) throws(VersioningError) -> RebaseReport {
        guard let head = try head() else {
            return RebaseReport(onto: upstream, replayed: [], checkout: try fastForward(to: upstream, wait: wait))
        }
        if try commits(from: head, after: upstream) != nil { return RebaseReport(onto: upstream, replayed: [], checkout: nil) }
        if try commits(from: upstream, after: head) != nil {
            return RebaseReport(onto: upstream, replayed: [], checkout: try fastForward(to: upstream, wait: wait))
        }
        guard try status().isClean else {
            throw VersioningError(.wouldOverwrite, "rebase needs a clean working tree: commit your changes first (nothing was changed)")
        }
        // Where the histories parted.
        var upstreamAncestors = Set<ContentHash>()
        var cursor: ContentHash? = upstream
        while let id = cursor { upstreamAncestors.insert(id); cursor = try commitInfo(id).parent }
        var local: [CommitInfo] = []
        cursor = head
        while let id = cursor, !upstreamAncestors.contains(id) {
            let info = try commitInfo(id)
            local.append(info)
            cursor = info.parent
        }
        guard let base = cursor else {
            throw VersioningError(.invalid, "HEAD and \(upstream.short()) share no commit: they are different datasets")
        }
        local.reverse()
        let baseSnapshot = try snapshot(base, preload: true)
        let upstreamSnapshot = try snapshot(upstream)
        let reader = baseSnapshot.reader
        func changes(_ old: [String: TreeEntry], _ new: [String: TreeEntry]) -> Set<String> {
            var changed = Set<String>()
            for (path, entry) in new where old[path] != entry { changed.insert(path) }
            for path in old.keys where new[path] == nil { changed.insert(path) }
            return changed
        }
        let theirs = changes(baseSnapshot.files, upstreamSnapshot.files)
        let theirSchemaChanged = upstreamSnapshot.commit.schema != baseSnapshot.commit.schema
        var files = upstreamSnapshot.files
        var schema = upstreamSnapshot.commit.schema
        var parent = upstream
        var previous = baseSnapshot.files
        var previousSchema = baseSnapshot.commit.schema
        var objects: [(ContentHash, Data)] = []
        var made = Set<ContentHash>()
        func put(_ data: Data) -> ContentHash {
            let hash = ContentHash.of(data)
            if made.insert(hash).inserted { objects.append((hash, data)) }
            return hash
        }
        var replayed: [RebaseReport.Replayed] = []
        for info in local {
            var current: [String: TreeEntry] = [:]
            try reader.walk(info.tree, prefix: "") { path, entry in current[path] = entry } folder: { _, _ in }
            for path in changes(previous, current).sorted() {
                if theirs.contains(path) && upstreamSnapshot.files[path] != current[path] {
                    throw VersioningError(.invalid, "cannot rebase: \(path) was changed both here (commit \(info.id.short())) and on \(upstream.short()); nothing was changed")
                }
                files[path] = current[path]
            }
            if info.schema != previousSchema {
                if theirSchemaChanged && upstreamSnapshot.commit.schema != info.schema {
                    throw VersioningError(.invalid, "cannot rebase: the label schema was changed both here (commit \(info.id.short())) and on \(upstream.short()); nothing was changed")
                }
                schema = info.schema
            }
            previous = current
            previousSchema = info.schema
            let tree = Self.writeTrees(files, put: put)
            var copy = CommitInfo(id: info.id, tree: tree, schema: schema, parent: parent, author: info.author, date: info.date, message: info.message)
            copy.id = put(copy.serialized())
            replayed.append(.init(from: info.id, to: copy.id))
            parent = copy.id
        }
        try storeObjects(objects) { hash in "rebased object \(hash.short())" }
        let moved = try fastForward(to: parent, replacing: head, wait: wait)
        return RebaseReport(onto: upstream, replayed: replayed, checkout: moved)
    }

    /// Writes the trees of a flat file map bottom-up (through `put`); returns the root tree.
    static func writeTrees(_ files: [String: TreeEntry], put: (Data) -> ContentHash) -> ContentHash {
        var children: [String: [TreeEntry]] = [:]
        var folders = Set<String>([""])
        for (path, entry) in files {
            let dir = parentDirectory(path)
            var d = dir
            while folders.insert(d).inserted, !d.isEmpty { d = parentDirectory(d) }
            var named = entry
            named.name = lastComponent(path)
            children[dir, default: []].append(named)
        }
        let subfolders = Dictionary(grouping: folders.filter { !$0.isEmpty }, by: parentDirectory)
        var hashes: [String: ContentHash] = [:]
        for folder in folders.sorted(by: { depth($0) > depth($1) }) {
            var entries = children[folder] ?? []
            for sub in subfolders[folder] ?? [] { entries.append(TreeEntry(kind: .directory, name: lastComponent(sub), hash: hashes[sub]!)) }
            hashes[folder] = put(Tree(entries: entries).serialized())
        }
        return hashes[""]!
    }
}
