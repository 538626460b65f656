import CurateVersioning
import Foundation

/// What a remote holds (see FORMAT.md, "Remotes"):
///
/// ```
/// curate-remote                 "curate-remote 1\n": marks a Curate remote
/// refs/main                     the shared history's tip, with the packs its history needs
/// refs/tags/NAME                a tag, likewise
/// packs/pack-<sha256>.pack      objects back to back
/// packs/pack-<sha256>.idx       what the pack holds: hash, offset, length, kind; the pack is named by this file's hash
/// ```
/// A pack counts as present once its index is there (the index goes up after the pack).
enum RemoteLayout {
    static let marker = "curate-remote"
    static let markerText = "curate-remote 1\n"
    static let main = "refs/main"
    static let tagsPrefix = "refs/tags/"
    static func packKey(_ name: String) -> String { "packs/\(name).pack" }
    static func indexKey(_ name: String) -> String { "packs/\(name).idx" }
}

/// A remote ref: the commit and every pack its history needs, so that a reader never lists the bucket.
struct RemoteRef: Equatable, Sendable {
    var commit: ContentHash
    var packs: [String]

    static let header = "curate-ref 1\n"

    func serialized() -> Data {
        var text = Self.header + "commit \(commit.hex)\n"
        for pack in packs { text += "pack \(pack)\n" }
        return Data(text.utf8)
    }

    static func parse(_ data: Data, key: String) throws(RemoteError) -> RemoteRef {
        let text = String(decoding: data, as: UTF8.self)
        guard text.hasPrefix(header) else { throw RemoteError(.corrupt, "\(key): not a Curate ref") }
        var commit: ContentHash?
        var packs: [String] = []
        for line in text.dropFirst(header.count).split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2 else { throw RemoteError(.corrupt, "\(key): malformed line '\(line.prefix(80))'") }
            switch parts[0] {
            case "commit": commit = ContentHash(hex: String(parts[1]))
            case "pack":
                guard RemotePackIndex.isName(String(parts[1])) else { throw RemoteError(.corrupt, "\(key): bad pack name '\(parts[1].prefix(80))'") }
                packs.append(String(parts[1]))
            default: break
            }
        }
        guard let commit else { throw RemoteError(.corrupt, "\(key): names no commit") }
        return RemoteRef(commit: commit, packs: packs)
    }
}

/// A remote pack's index: `curate-remote-pack 1`, then `<hash> <offset> <length> <kind>` per object. The pack's name
/// is `pack-` and the SHA-256 of this text, so a downloaded index is checked against its name.
struct RemotePackIndex: Sendable {
    struct Entry: Sendable, Hashable {
        var hash: ContentHash
        var offset: Int
        var length: Int
        var kind: ObjectKind
    }

    var name: String
    var entries: [Entry]
    var size: Int { entries.map { $0.offset + $0.length }.max() ?? 0 }

    static let header = "curate-remote-pack 1\n"

    static func isName(_ name: String) -> Bool {
        name.hasPrefix("pack-") && name.count == 69 && name.dropFirst(5).allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }

    /// The index of objects laid out back to back, in order.
    static func make(_ objects: [ObjectEntry]) -> (index: RemotePackIndex, text: Data) {
        var text = header
        var entries: [Entry] = []
        var offset = 0
        for object in objects {
            entries.append(Entry(hash: object.hash, offset: offset, length: object.length, kind: object.kind))
            text += "\(object.hash.hex) \(offset) \(object.length) \(object.kind.rawValue)\n"
            offset += object.length
        }
        let data = Data(text.utf8)
        return (RemotePackIndex(name: "pack-" + SigV4.sha256(data), entries: entries), data)
    }

    static func parse(_ data: Data, name: String, key: String) throws(RemoteError) -> RemotePackIndex {
        guard "pack-" + SigV4.sha256(data) == name else {
            throw RemoteError(.corrupt, "\(key): the index is damaged (its bytes do not match its name); nothing was written")
        }
        let text = String(decoding: data, as: UTF8.self)
        guard text.hasPrefix(header) else { throw RemoteError(.corrupt, "\(key): not a Curate pack index") }
        var entries: [Entry] = []
        for line in text.dropFirst(header.count).split(separator: "\n") {
            let f = line.split(separator: " ")
            // Offsets and lengths stay far from overflow (a pack is never near 2^48 bytes).
            guard f.count == 4, let hash = ContentHash(hex: String(f[0])), let offset = Int(f[1]), let length = Int(f[2]),
                  (0..<(1 << 48)).contains(offset), (0..<(1 << 48)).contains(length), let kind = ObjectKind(rawValue: String(f[3])) else {
                throw RemoteError(.corrupt, "\(key): malformed entry '\(line.prefix(80))'")
            }
            entries.append(Entry(hash: hash, offset: offset, length: length, kind: kind))
        }
        return RemotePackIndex(name: name, entries: entries)
    }
}
