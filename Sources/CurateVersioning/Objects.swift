import CurateCore
import Foundation

/// One entry of a folder tree: a file (content, size, upright image size, labels) or a sub-folder.
struct TreeEntry: Hashable, Sendable {
    enum Kind: String, Sendable { case file = "f", directory = "d" }
    var kind: Kind
    var name: String
    var hash: ContentHash
    var size: Int = 0
    var width: Int?
    var height: Int?
    var labels: ContentHash?
}

/// A folder as a Merkle node: its serialised entries are hashed, so an unchanged folder keeps its id.
struct Tree: Hashable, Sendable {
    var entries: [TreeEntry]

    /// Entries sorted by the UTF-8 bytes of their names: one folder has one serialisation.
    func serialized() -> Data {
        var text = "curate-tree 1\n"
        for e in entries.sorted(by: { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }) {
            switch e.kind {
            case .file:
                let dims = e.width.flatMap { w in e.height.map { "\(w)x\($0)" } } ?? "-"
                text += "f \(e.hash.hex) \(e.size) \(dims) \(e.labels?.hex ?? "-") \(e.name)\n"
            case .directory:
                text += "d \(e.hash.hex) - - - \(e.name)\n"
            }
        }
        return Data(text.utf8)
    }

    static func parse(_ data: Data, hash: ContentHash) throws(VersioningError) -> Tree {
        let text = String(decoding: data, as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.first == "curate-tree 1" else { throw VersioningError(.corrupt, "tree \(hash.short()) has an unknown header; run curate fsck") }
        lines.removeFirst()
        if lines.last == "" { lines.removeLast() }
        var entries: [TreeEntry] = []
        entries.reserveCapacity(lines.count)
        for line in lines {
            let f = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: false)
            guard f.count == 6, let kind = TreeEntry.Kind(rawValue: String(f[0])), let h = ContentHash(hex: String(f[1])) else {
                throw VersioningError(.corrupt, "tree \(hash.short()) has a malformed line; run curate fsck")
            }
            var entry = TreeEntry(kind: kind, name: String(f[5]), hash: h)
            if kind == .file {
                entry.size = Int(f[2]) ?? 0
                if f[3] != "-" {
                    let wh = f[3].split(separator: "x")
                    if wh.count == 2 { entry.width = Int(wh[0]); entry.height = Int(wh[1]) }
                }
                if f[4] != "-" { entry.labels = ContentHash(hex: String(f[4])) }
            }
            entries.append(entry)
        }
        return Tree(entries: entries)
    }
}

/// A snapshot of files and labels with its parent: immutable, named by the hash of its text.
public struct CommitInfo: Hashable, Sendable, Codable {
    /// The commit id.
    public var id: ContentHash
    /// The root folder tree.
    public var tree: ContentHash
    /// The label schema object, if any labels were committed.
    public var schema: ContentHash?
    /// The previous commit (nil for the first).
    public var parent: ContentHash?
    /// Who committed.
    public var author: String
    /// When.
    public var date: Date
    /// The commit message.
    public var message: String

    func serialized() -> Data {
        var text = "curate-commit 1\ntree \(tree.hex)\nschema \(schema?.hex ?? "-")\n"
        if let parent { text += "parent \(parent.hex)\n" }
        text += "author \(author)\ndate \(String(format: "%.3f", date.timeIntervalSince1970))\n\n\(message)"
        return Data(text.utf8)
    }

    static func parse(_ data: Data, id: ContentHash) throws(VersioningError) -> CommitInfo {
        let text = String(decoding: data, as: UTF8.self)
        guard let split = text.range(of: "\n\n") else { throw VersioningError(.corrupt, "commit \(id.short()) is malformed; run curate fsck") }
        var fields: [String: String] = [:]
        for line in text[..<split.lowerBound].split(separator: "\n").dropFirst() {
            let parts = line.split(separator: " ", maxSplits: 1)
            if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
        }
        guard text.hasPrefix("curate-commit 1\n"), let tree = fields["tree"].flatMap(ContentHash.init(hex:)),
              let date = fields["date"].flatMap(Double.init) else {
            throw VersioningError(.corrupt, "commit \(id.short()) is malformed; run curate fsck")
        }
        return CommitInfo(id: id, tree: tree, schema: fields["schema"].flatMap(ContentHash.init(hex:)),
                          parent: fields["parent"].flatMap(ContentHash.init(hex:)), author: fields["author"] ?? "",
                          date: Date(timeIntervalSince1970: date), message: String(text[split.upperBound...]))
    }
}

/// The canonical JSON of one item's annotations (without the item path, so a rename keeps the labels' id).
enum LabelCodec {
    struct Record: Codable, Equatable {
        var id: Int?
        var `class`: Int?
        var classes: [Int]?
        var object: ObjectLabel?
        var span: TextSpan?
        var source: String?
        var created: Double?
        var seconds: Double?
        var confidence: Double?
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func encode(_ annotations: [Annotation]) -> Data {
        let records = annotations.map { a -> Record in
            var r = Record(id: a.id, source: a.source == .imported ? nil : a.source.description,
                           created: a.createdAt?.timeIntervalSince1970, seconds: a.secondsSpent, confidence: a.confidence)
            switch a.label {
            case .classification(let c): r.class = c
            case .multilabel(let cs): r.classes = cs
            case .object(let o): r.object = o
            case .span(let s, let c): r.span = s; r.class = c
            }
            return r
        }
        return (try? encoder.encode(records)) ?? Data("[]".utf8)
    }

    static func decode(_ data: Data, item: String) throws(VersioningError) -> [Annotation] {
        let records: [Record]
        do { records = try JSONDecoder().decode([Record].self, from: data) } catch {
            throw VersioningError(.corrupt, "labels of '\(item)' cannot be decoded: \(error)")
        }
        return records.map { r in
            let label: Label
            if let o = r.object { label = .object(o) }
            else if let s = r.span { label = .span(s, classID: r.class ?? -1) }
            else if let cs = r.classes { label = .multilabel(cs) }
            else { label = .classification(r.class ?? -1) }
            return Annotation(id: r.id, item: item, label: label, source: r.source.flatMap(AnnotationSource.init) ?? .imported,
                              createdAt: r.created.map { Date(timeIntervalSince1970: $0) }, secondsSpent: r.seconds, confidence: r.confidence)
        }
    }

    static func encodeSchema(_ schema: LabelSchema) -> Data {
        (try? encoder.encode(schema)) ?? Data()
    }

    static func decodeSchema(_ data: Data) throws(VersioningError) -> LabelSchema {
        do { return try JSONDecoder().decode(LabelSchema.self, from: data) } catch {
            throw VersioningError(.corrupt, "label schema cannot be decoded: \(error)")
        }
    }
}
