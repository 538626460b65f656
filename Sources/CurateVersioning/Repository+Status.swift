import CurateCore
import Foundation
import GRDB

/// Changes in the working tree since the last commit.
package struct Status: Sendable, Codable, Equatable {
    /// Files that are new (not in the last commit).
    package var added: [String] = []
    /// Files whose content changed.
    package var modified: [String] = []
    /// Files in the last commit that are gone.
    package var deleted: [String] = []
    /// Files moved: same content at a new path.
    package var renamed: [Rename] = []
    /// Items whose labels differ from the last commit.
    package var labelsChanged: [String] = []
    /// Whether the label schema (classes) differs from the last commit.
    package var schemaChanged = false
    /// The revision an in-place `checkout` restored the working tree to, when it is not HEAD: the changes listed
    /// are then (mostly) that checkout, which a commit records as a revert.
    package var checkedOut: ContentHash?

    /// A move of unchanged content.
    package struct Rename: Sendable, Codable, Equatable, Hashable {
        package var from: String
        package var to: String
    }

    /// True when there is nothing to commit.
    package var isClean: Bool {
        added.isEmpty && modified.isEmpty && deleted.isEmpty && renamed.isEmpty && labelsChanged.isEmpty && !schemaChanged
    }
}

extension Repository {
    /// Compares the working tree and the working labels with the last commit. A reader: it takes no lock and
    /// writes nothing; files whose size, mtime or inode changed are hashed to tell a real change from a touch.
    package func status() throws(VersioningError) -> Status {
        try fastStatus()
    }

    static func status(index: Index, state: WorkingState) -> Status {
        var status = Status()
        var added: [String] = []
        for (path, content) in state.contents {
            switch index.files[path]?.committed {
            case nil: added.append(path)
            case let committed? where committed != content.hash: status.modified.append(path)
            default: break
            }
        }
        var deleted: [String] = []
        for (path, row) in index.files where row.committed != nil && state.contents[path] == nil {
            deleted.append(path)
        }
        let pairs = pairRenames(removed: deleted.map { ($0, index.files[$0]!.committed!) },
                                added: added.map { ($0, state.contents[$0]!.hash) })
        (status.renamed, status.added, status.deleted) = (pairs.renamed, pairs.added, pairs.removed)
        status.modified.sort { compareBytes($0, $1) < 0 }
        status.labelsChanged = index.labels.filter { $0.value.hash != $0.value.committed }.map(\.key).sorted()
        if let schema = index.schema {
            status.schemaChanged = ContentHash.of(LabelCodec.encodeSchema(schema)) != index.committedSchema
        }
        return status
    }
}

/// Pairs removed and added paths that have the same content as renames. Both sides are taken in byte order of
/// their paths, so the pairing is deterministic when several files share a content.
func pairRenames(removed: [(String, ContentHash)], added: [(String, ContentHash)]) -> (renamed: [Status.Rename], added: [String], removed: [String]) {
    var removedByHash: [ContentHash: [String]] = [:]
    for (path, hash) in removed.sorted(by: { compareBytes($0.0, $1.0) < 0 }) { removedByHash[hash, default: []].append(path) }
    var renamed: [Status.Rename] = [], stillAdded: [String] = []
    var renamedFrom = Set<String>()
    for (path, hash) in added.sorted(by: { compareBytes($0.0, $1.0) < 0 }) {
        if var candidates = removedByHash[hash], !candidates.isEmpty {
            let from = candidates.removeFirst()
            removedByHash[hash] = candidates
            renamed.append(.init(from: from, to: path))
            renamedFrom.insert(from)
        } else {
            stillAdded.append(path)
        }
    }
    let stillRemoved = removed.map(\.0).filter { !renamedFrom.contains($0) }.sorted { compareBytes($0, $1) < 0 }
    return (renamed, stillAdded, stillRemoved)
}
