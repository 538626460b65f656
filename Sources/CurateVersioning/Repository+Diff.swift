import CurateCore
import Foundation
import GRDB

/// What changed between two versions: files, labels item by item, and the class and size balance.
package struct Diff: Sendable, Codable {
    /// The older side: a commit id.
    package var from: String
    /// The newer side: a commit id, or `"working"` for the working tree and labels.
    package var to: String
    package var added: [String] = []
    package var removed: [String] = []
    package var modified: [String] = []
    package var renamed: [Status.Rename] = []
    /// Items whose labels changed, with each change.
    package var labels: [ItemLabelDiff] = []
    /// Counts before and after.
    package var before: DatasetStats
    package var after: DatasetStats
    /// Per-class counts, before and after, sorted by class name.
    package var classes: [ClassCount]
    /// How much the class balance moved.
    package var shift: BalanceShift

    /// One class's count on both sides.
    package struct ClassCount: Sendable, Codable, Hashable {
        package var name: String
        package var before: Int
        package var after: Int
    }
}

/// The label changes of one item.
package struct ItemLabelDiff: Sendable, Codable, Hashable {
    /// The item path.
    package var item: String
    /// What changed, in order: class changes, then boxes (changed, removed, added), then others.
    package var changes: [LabelChange]
    /// Who made the new labels (annotation sources, or the commit's author).
    package var by: [String]
    /// When (the newest annotation time, or the commit's date).
    package var date: Date?
}

/// One label change on an item.
package struct LabelChange: Sendable, Codable, Hashable, CustomStringConvertible {
    /// `class` (item class a → b), `classes` (multi-label), `box-added`, `box-removed`, `box-moved`,
    /// `box-class` (same place, new class), `object-added`, `object-removed`, `span-added`, `span-removed`,
    /// `provenance` (the same labels from another source or time: `fromClass`/`toClass` hold the sources),
    /// `reordered` (the same labels listed in another order).
    package var kind: String
    package var fromClass: String?
    package var toClass: String?
    /// `[x, y, width, height]` before and after, for boxes.
    package var fromBox: [Double]?
    package var toBox: [Double]?
    /// IoU of a matched box pair.
    package var iou: Double?
    /// Added and removed classes, for multi-label changes.
    package var addedClasses: [String]?
    package var removedClasses: [String]?

    package var description: String {
        func box(_ b: [Double]?) -> String {
            guard let b, b.count == 4 else { return "" }
            return "(\(fmtNumber(b[0])),\(fmtNumber(b[1])) \(fmtNumber(b[2]))x\(fmtNumber(b[3])))"
        }
        switch kind {
        case "class": return "class \(fromClass ?? "none") -> \(toClass ?? "none")"
        case "classes": return "classes +[\((addedClasses ?? []).joined(separator: ", "))] -[\((removedClasses ?? []).joined(separator: ", "))]"
        case "box-added": return "box added: \(toClass ?? "") \(box(toBox))"
        case "box-removed": return "box removed: \(fromClass ?? "") \(box(fromBox))"
        case "box-moved":
            let cls = fromClass == toClass ? (toClass ?? "") : "\(fromClass ?? "") -> \(toClass ?? "")"
            return "box moved: \(cls) \(box(fromBox)) -> \(box(toBox)) (IoU \(String(format: "%.2f", iou ?? 0)))"
        case "provenance":
            return fromClass == toClass ? "same labels, new time or seconds" : "same labels, source \(fromClass ?? "") -> \(toClass ?? "")"
        case "reordered": return "same labels, in another order"
        case "box-class": return "box class \(fromClass ?? "") -> \(toClass ?? "") at \(box(toBox)) (IoU \(String(format: "%.2f", iou ?? 1)))"
        default: return "\(kind): \(fromClass ?? toClass ?? "")"
        }
    }
}

extension Annotation {
    /// The annotation with its item left out (for comparing one item's labels as a set).
    var withoutItem: Annotation { var a = self; a.item = ""; a.id = nil; return a }
}

func fmtNumber(_ v: Double) -> String {
    v == v.rounded() && abs(v) < 1e12 ? String(Int(v)) : String(format: "%.2f", v)
}

/// One side of a diff: file entries (with label hashes) and how to read labels.
struct DiffSide {
    var name: String
    var files: [String: TreeEntry]
    var schema: LabelSchema
    var stats: DatasetStats
    var author: String?
    var date: Date?
    var labelBody: (ContentHash) throws(VersioningError) -> Data

    func annotations(_ path: String) throws(VersioningError) -> [Annotation] {
        guard let hash = files[path]?.labels else { return [] }
        return try LabelCodec.decode(labelBody(hash), item: path)
    }
}

extension Repository {
    /// Compares two revisions, or a revision and the working state (`to: nil`).
    /// - Parameters:
    ///   - from: the older revision (default HEAD).
    ///   - to: the newer revision; nil for the working tree and labels.
    ///   - labelDetails: compute item-by-item label changes (off for `--stat`: items are listed without changes).
    package func diff(from: String = "HEAD", to: String? = nil, labelDetails: Bool = true) throws(VersioningError) -> Diff {
        guard let to else {
            let a = try side(from)
            return try Self.diff(a, try workingSide(base: a), labelDetails: labelDetails)
        }
        // Two commits: walk both trees together and read only the folders whose hashes differ.
        let (a, b) = try sides(from, to)
        return try Self.diff(a, b, labelDetails: labelDetails)
    }

    /// Two commits as diff sides holding only the files under folders whose tree hashes differ (Merkle pruning):
    /// files outside them are identical on both sides, so they cannot appear in the diff.
    func sides(_ from: String, _ to: String) throws(VersioningError) -> (DiffSide, DiffSide) {
        let ia = try commitInfo(resolve(from)), ib = try commitInfo(resolve(to))
        let reader = try ObjectReader(repository: self)
        var fa: [String: TreeEntry] = [:], fb: [String: TreeEntry] = [:]
        func everything(_ tree: ContentHash, _ prefix: String, into files: inout [String: TreeEntry]) throws(VersioningError) {
            try reader.walk(tree, prefix: prefix) { path, entry in files[path] = entry } folder: { _, _ in }
        }
        func compare(_ ta: ContentHash, _ tb: ContentHash, _ prefix: String) throws(VersioningError) {
            if ta == tb { return }
            let ea = try Tree.parse(reader.read(ta), hash: ta).entries, eb = try Tree.parse(reader.read(tb), hash: tb).entries
            let byName = Dictionary(eb.map { ($0.name, $0) }, uniquingKeysWith: { x, _ in x })
            for e in ea {
                let path = prefix.isEmpty ? e.name : prefix + "/" + e.name
                if e.kind == .directory {
                    if let other = byName[e.name], other.kind == .directory { try compare(e.hash, other.hash, path) } else { try everything(e.hash, path, into: &fa) }
                } else if let other = byName[e.name], other.kind == .file, other.hash == e.hash, other.labels == e.labels {
                    continue  // the same file with the same labels on both sides: nothing to report
                } else {
                    fa[path] = e
                }
            }
            let byNameA = Dictionary(ea.map { ($0.name, $0) }, uniquingKeysWith: { x, _ in x })
            for e in eb {
                let path = prefix.isEmpty ? e.name : prefix + "/" + e.name
                if e.kind == .directory {
                    if byNameA[e.name]?.kind == .directory { continue }
                    try everything(e.hash, path, into: &fb)
                } else if let other = byNameA[e.name], other.kind == .file, other.hash == e.hash, other.labels == e.labels {
                    continue
                } else {
                    fb[path] = e
                }
            }
        }
        try compare(ia.tree, ib.tree, "")
        let schemaA = try ia.schema.map { (h) throws(VersioningError) in try LabelCodec.decodeSchema(reader.read(h)) } ?? LabelSchema(classes: [])
        let schemaB = try ib.schema.map { (h) throws(VersioningError) in try LabelCodec.decodeSchema(reader.read(h)) } ?? LabelSchema(classes: [])
        let read: (ContentHash) throws(VersioningError) -> Data = { (h) throws(VersioningError) in try reader.read(h) }
        return (DiffSide(name: ia.id.hex, files: fa, schema: schemaA, stats: try stats(of: ia.id), author: ia.author, date: ia.date, labelBody: read),
                DiffSide(name: ib.id.hex, files: fb, schema: schemaB, stats: try stats(of: ib.id), author: ib.author, date: ib.date, labelBody: read))
    }

    func side(_ revision: String) throws(VersioningError) -> DiffSide {
        let snapshot = try snapshot(resolve(revision))
        let reader = snapshot.reader
        return DiffSide(name: snapshot.commit.id.hex, files: snapshot.files, schema: snapshot.schema, stats: try stats(of: snapshot.commit.id),
                        author: snapshot.commit.author, date: snapshot.commit.date, labelBody: { (h) throws(VersioningError) in try reader.read(h) })
    }

    /// The working tree as a diff side; class counts are `base`'s adjusted by the labels that differ.
    func workingSide(base: DiffSide) throws(VersioningError) -> DiffSide {
        let index = try read("reading the index") { db in try Index.load(db, labelBodies: true) }
        let state = try workingState(index, store: false)
        var bodies: [ContentHash: Data] = [:]
        var files: [String: TreeEntry] = [:]
        for (path, content) in state.contents {
            var entry = TreeEntry(kind: .file, name: lastComponent(path), hash: content.hash, size: content.size, width: content.width, height: content.height)
            if let row = index.labels[path], let hash = row.hash, let body = row.body {
                entry.labels = hash
                bodies[hash] = body
            }
            files[path] = entry
        }
        let schema = index.schema ?? LabelSchema(classes: [])
        var stats = base.stats
        for path in Set(files.keys).union(base.files.keys) where files[path]?.labels != base.files[path]?.labels {
            stats.addLabels(try base.annotations(path), schema: base.schema, sign: -1)
            if let hash = files[path]?.labels, let body = bodies[hash] {
                stats.addLabels(try LabelCodec.decode(body, item: path), schema: schema, sign: 1)
            }
        }
        let sizes = DatasetStats.sizes(of: state.contents.values.map { ($0.width, $0.height) })
        stats.files = sizes.files
        stats.sizes = sizes.sizes
        let reader = try ObjectReader(repository: self)
        return DiffSide(name: "working", files: files, schema: schema, stats: stats, author: nil, date: nil,
                        labelBody: { (h) throws(VersioningError) in if let b = bodies[h] { return b }; return try reader.read(h) })
    }

    static func diff(_ a: DiffSide, _ b: DiffSide, labelDetails: Bool) throws(VersioningError) -> Diff {
        let classNames = Set(a.stats.classCounts.keys).union(b.stats.classCounts.keys).sorted()
        var diff = Diff(from: a.name, to: b.name, before: a.stats, after: b.stats,
                        classes: classNames.map { Diff.ClassCount(name: $0, before: a.stats.classCounts[$0] ?? 0, after: b.stats.classCounts[$0] ?? 0) },
                        shift: BalanceShift.compute(before: a.stats.classCounts, after: b.stats.classCounts))
        var added: [String] = [], removed: [String] = []
        for (path, entry) in b.files {
            if let old = a.files[path] {
                if old.hash != entry.hash { diff.modified.append(path) }
            } else {
                added.append(path)
            }
        }
        for path in a.files.keys where b.files[path] == nil { removed.append(path) }
        let pairs = pairRenames(removed: removed.map { ($0, a.files[$0]!.hash) }, added: added.map { ($0, b.files[$0]!.hash) })
        (diff.renamed, diff.added, diff.removed) = (pairs.renamed, pairs.added, pairs.removed)
        diff.modified.sort { compareBytes($0, $1) < 0 }
        let renamedFrom = Set(pairs.renamed.map(\.from))
        // Labels: compare by label id; a renamed item is compared with its old path.
        let renameOf = Dictionary(uniqueKeysWithValues: diff.renamed.map { ($0.to, $0.from) })
        var paths = Set<String>()
        for (path, entry) in b.files where entry.labels != a.files[renameOf[path] ?? path]?.labels { paths.insert(path) }
        for (path, entry) in a.files where entry.labels != nil && b.files[path] == nil && !renamedFrom.contains(path) { paths.insert(path) }
        for path in paths.sorted() {
            guard labelDetails else {
                diff.labels.append(ItemLabelDiff(item: path, changes: [], by: [], date: nil))
                continue
            }
            let old = try a.annotations(renameOf[path] ?? path)
            let new = try b.annotations(path)
            var changes = compareLabels(old, a.schema, new, b.schema)
            // The same labels with other provenance (source, time, seconds) are still a change of the stored labels,
            // as status and commit count them: one definition everywhere.
            if changes.isEmpty {
                let from = Set(old.map(\.source.description)).sorted().joined(separator: ", ")
                let to = Set(new.map(\.source.description)).sorted().joined(separator: ", ")
                // Same labels, same provenance: only their order changed (another tool lists them otherwise).
                let reordered = from == to && Set(old.map { $0.withoutItem }) == Set(new.map { $0.withoutItem })
                changes = [LabelChange(kind: reordered ? "reordered" : "provenance", fromClass: from, toClass: to)]
            }
            let sources = Array(Set(new.map(\.source).filter { $0 != .imported }.map(\.description))).sorted()
            let date = new.compactMap(\.createdAt).max()
            diff.labels.append(ItemLabelDiff(item: path, changes: changes, by: sources.isEmpty ? (b.author.map { [$0] } ?? []) : sources,
                                             date: date ?? b.date))
        }
        return diff
    }

    /// Item-level label changes: class changes, then boxes matched by IoU (greedy, highest first, IoU ≥ 0.3).
    static func compareLabels(_ old: [Annotation], _ oldSchema: LabelSchema, _ new: [Annotation], _ newSchema: LabelSchema) -> [LabelChange] {
        var changes: [LabelChange] = []
        func names(_ list: [Annotation], _ schema: LabelSchema, _ pick: (Label) -> [Int]?) -> [String] {
            list.compactMap { pick($0.label) }.flatMap { $0 }.map { schema.name(of: $0) }.sorted()
        }
        let oldClass = names(old, oldSchema) { if case .classification(let c) = $0 { [c] } else { nil } }
        let newClass = names(new, newSchema) { if case .classification(let c) = $0 { [c] } else { nil } }
        if oldClass != newClass {
            changes.append(LabelChange(kind: "class", fromClass: oldClass.isEmpty ? nil : oldClass.joined(separator: "+"),
                                       toClass: newClass.isEmpty ? nil : newClass.joined(separator: "+")))
        }
        let oldMulti = Set(names(old, oldSchema) { if case .multilabel(let c) = $0 { c } else { nil } })
        let newMulti = Set(names(new, newSchema) { if case .multilabel(let c) = $0 { c } else { nil } })
        if oldMulti != newMulti {
            changes.append(LabelChange(kind: "classes", addedClasses: newMulti.subtracting(oldMulti).sorted(), removedClasses: oldMulti.subtracting(newMulti).sorted()))
        }
        // Boxes.
        typealias Boxed = (name: String, box: BoundingBox, object: ObjectLabel)
        func boxes(_ list: [Annotation], _ schema: LabelSchema) -> [Boxed] {
            list.compactMap { a in
                guard case .object(let o) = a.label, let box = o.box else { return nil }
                return (schema.name(of: o.classID), box, o)
            }
        }
        var before = boxes(old, oldSchema), after = boxes(new, newSchema)
        // Identical boxes first (same class, same box): unchanged.
        var unmatchedBefore: [Boxed] = []
        for item in before {
            if let i = after.firstIndex(where: { $0.name == item.name && $0.box == item.box }) { after.remove(at: i) } else { unmatchedBefore.append(item) }
        }
        before = unmatchedBefore
        var pairs: [(Int, Int, Double)] = []
        for (i, x) in before.enumerated() {
            for (j, y) in after.enumerated() {
                let iou = x.box.iou(y.box)
                if iou >= 0.3 { pairs.append((i, j, iou + (x.name == y.name ? 1 : 0))) }  // same class first
            }
        }
        pairs.sort { $0.2 != $1.2 ? $0.2 > $1.2 : ($0.0, $0.1) < ($1.0, $1.1) }
        var usedBefore = Set<Int>(), usedAfter = Set<Int>()
        var moved: [LabelChange] = []
        for (i, j, _) in pairs where !usedBefore.contains(i) && !usedAfter.contains(j) {
            usedBefore.insert(i); usedAfter.insert(j)
            let x = before[i], y = after[j]
            let iou = x.box.iou(y.box)
            let kind = x.box == y.box ? "box-class" : "box-moved"
            moved.append(LabelChange(kind: kind, fromClass: x.name, toClass: y.name, fromBox: boxArray(x.box), toBox: boxArray(y.box), iou: iou))
        }
        changes += moved
        for (i, x) in before.enumerated() where !usedBefore.contains(i) {
            changes.append(LabelChange(kind: "box-removed", fromClass: x.name, fromBox: boxArray(x.box)))
        }
        for (j, y) in after.enumerated() where !usedAfter.contains(j) {
            changes.append(LabelChange(kind: "box-added", toClass: y.name, toBox: boxArray(y.box)))
        }
        // Objects without boxes, and spans: compared as sets.
        func others(_ list: [Annotation], _ schema: LabelSchema) -> [String] {
            list.compactMap { a -> String? in
                switch a.label {
                case .object(let o) where o.box == nil: return "object:\(schema.name(of: o.classID)):\(o.hashValue)"
                case .span(let s, let c): return "span:\(schema.name(of: c)):\(s.start)-\(s.end)"
                default: return nil
                }
            }
        }
        let oldOthers = others(old, oldSchema), newOthers = others(new, newSchema)
        for o in oldOthers where !newOthers.contains(o) {
            let parts = o.split(separator: ":")
            changes.append(LabelChange(kind: parts[0] == "span" ? "span-removed" : "object-removed", fromClass: String(parts[1])))
        }
        for o in newOthers where !oldOthers.contains(o) {
            let parts = o.split(separator: ":")
            changes.append(LabelChange(kind: parts[0] == "span" ? "span-added" : "object-added", toClass: String(parts[1])))
        }
        return changes
    }
}

func boxArray(_ b: BoundingBox) -> [Double] { [b.x, b.y, b.width, b.height] }

extension Diff {
    /// The figures `diff --fail-on` gates test: class shift (`tvd`, `p`), files removed and added, labeled items
    /// lost (`unlabeled`), each also as a share (`removed%` of the files before, `unlabeled%` of the labeled items).
    package var metrics: [String: Double] {
        let before = Double(max(self.before.files, 1)), labeled = Double(max(self.before.labeledItems, 1))
        let lost = Double(max(0, self.before.labeledItems - after.labeledItems))
        return [
            // A first labeling shifts nothing: with no labels before, tvd is 0.
            "tvd": self.before.classCounts.isEmpty ? 0 : shift.totalVariation, "p": shift.pValue,
            "removed": Double(removed.count), "removed%": Double(removed.count) / before,
            "added": Double(added.count), "added%": Double(added.count) / before,
            "unlabeled": lost, "unlabeled%": lost / labeled,
        ]
    }
}
