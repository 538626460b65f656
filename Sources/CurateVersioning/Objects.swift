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
        for e in entries.sorted(by: { compareBytes($0.name, $1.name) < 0 }) {
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

    /// Parses a tree object byte by byte (diff and checkout parse thousands of them).
    static func parse(_ data: Data, hash: ContentHash) throws(VersioningError) -> Tree {
        let header = Array("curate-tree 1\n".utf8)
        let result: Tree? = data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> Tree? in
            guard raw.count >= header.count, raw.prefix(header.count).elementsEqual(header) else { return nil }
            var entries: [TreeEntry] = []
            var i = header.count
            let space = UInt8(ascii: " "), newline = UInt8(ascii: "\n"), dash = UInt8(ascii: "-")
            while i < raw.count {
                guard let end = raw[i...].firstIndex(of: newline) else { return nil }
                // f HASH SIZE WxH LABELS NAME   (d HASH - - - NAME)
                var fields: [Range<Int>] = []
                var start = i
                for k in i..<end where fields.count < 5 && raw[k] == space {
                    fields.append(start..<k)
                    start = k + 1
                }
                guard fields.count == 5 else { return nil }
                fields.append(start..<end)
                let kindByte = raw[fields[0].lowerBound]
                guard fields[0].count == 1, kindByte == UInt8(ascii: "f") || kindByte == UInt8(ascii: "d"),
                      let h = ContentHash.parse(UnsafeRawBufferPointer(rebasing: raw[fields[1]])) else { return nil }
                let name = String(decoding: UnsafeRawBufferPointer(rebasing: raw[fields[5]]), as: UTF8.self)
                var entry = TreeEntry(kind: kindByte == UInt8(ascii: "f") ? .file : .directory, name: name, hash: h)
                if entry.kind == .file {
                    var size = 0
                    for k in fields[2] { size = size * 10 + Int(raw[k] &- 48) }
                    entry.size = size
                    if !(fields[3].count == 1 && raw[fields[3].lowerBound] == dash) {
                        var w = 0, hgt = 0, seenX = false
                        for k in fields[3] {
                            if raw[k] == UInt8(ascii: "x") { seenX = true } else if seenX { hgt = hgt * 10 + Int(raw[k] &- 48) } else { w = w * 10 + Int(raw[k] &- 48) }
                        }
                        entry.width = w
                        entry.height = hgt
                    }
                    if !(fields[4].count == 1 && raw[fields[4].lowerBound] == dash) {
                        entry.labels = ContentHash.parse(UnsafeRawBufferPointer(rebasing: raw[fields[4]]))
                    }
                }
                entries.append(entry)
                i = end + 1
            }
            return Tree(entries: entries)
        }
        guard let result else { throw VersioningError(.corrupt, "tree \(hash.short()) is malformed; run curate fsck") }
        return result
    }
}

/// A snapshot of files and labels with its parent: immutable, named by the hash of its text.
package struct CommitInfo: Hashable, Sendable, Codable {
    /// The commit id.
    package var id: ContentHash
    /// The root folder tree.
    package var tree: ContentHash
    /// The label schema object, if any labels were committed.
    package var schema: ContentHash?
    /// The previous commit (nil for the first).
    package var parent: ContentHash?
    /// Who committed.
    package var author: String
    /// When.
    package var date: Date
    /// The commit message.
    package var message: String

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

    /// Canonical JSON, written by hand (JSONEncoder costs ~10 µs per item, which is most of an import of
    /// 100,000 labels): keys sorted, numbers in Swift's shortest round-trip form. JSONDecoder reads it back.
    static func encode(_ annotations: [Annotation]) -> Data {
        var out = "["
        for (k, a) in annotations.enumerated() {
            if k > 0 { out += "," }
            var fields: [(String, String)] = []
            switch a.label {
            case .classification(let c): fields.append(("class", String(c)))
            case .multilabel(let cs): fields.append(("classes", "[" + cs.map(String.init).joined(separator: ",") + "]"))
            case .object(let o): fields.append(("object", objectJSON(o)))
            case .span(let s, let c):
                fields.append(("class", String(c)))
                fields.append(("span", "{\"end\":\(s.end),\"start\":\(s.start)}"))
            }
            if let c = a.confidence { fields.append(("confidence", number(c))) }
            if let d = a.createdAt { fields.append(("created", number(d.timeIntervalSince1970))) }
            if let id = a.id { fields.append(("id", String(id))) }
            if let s = a.secondsSpent { fields.append(("seconds", number(s))) }
            if a.source != .imported { fields.append(("source", jsonString(a.source.description))) }
            fields.sort { $0.0 < $1.0 }
            out += "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
        }
        out += "]"
        return Data(out.utf8)
    }

    private static func objectJSON(_ o: ObjectLabel) -> String {
        var fields: [String] = []
        if let area = o.area { fields.append("\"area\":\(number(area))") }
        if !o.attributes.isEmpty {
            fields.append("\"attributes\":{" + o.attributes.sorted { $0.key < $1.key }.map { jsonString($0.key) + ":" + jsonString($0.value) }.joined(separator: ",") + "}")
        }
        if let b = o.box { fields.append("\"box\":{\"height\":\(number(b.height)),\"width\":\(number(b.width)),\"x\":\(number(b.x)),\"y\":\(number(b.y))}") }
        fields.append("\"classID\":\(o.classID)")
        fields.append("\"isCrowd\":\(o.isCrowd)")
        fields.append("\"keypoints\":[" + o.keypoints.map { "{\"visibility\":\($0.visibility),\"x\":\(number($0.x)),\"y\":\(number($0.y))}" }.joined(separator: ",") + "]")
        if let m = o.mask { fields.append("\"mask\":{\"counts\":[" + m.counts.map(String.init).joined(separator: ",") + "],\"height\":\(m.height),\"width\":\(m.width)}") }
        fields.append("\"polygons\":[" + o.polygons.map { "[" + $0.map(number).joined(separator: ",") + "]" }.joined(separator: ",") + "]")
        return "{" + fields.joined(separator: ",") + "}"
    }

    /// Finite numbers in shortest round-trip form; JSON has no NaN, so non-finite values (refused on import) become null.
    private static func number(_ v: Double) -> String { v.isFinite ? "\(v)" : "null" }

    private static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
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
