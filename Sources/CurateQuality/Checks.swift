import CurateCore
import Foundation

/// One problem the schema and geometry checks found.
package struct Finding: Sendable, Equatable {
    package enum Kind: String, Sendable, CaseIterable {
        /// A record the label file's reader rejected.
        case invalidRecord = "invalid record"
        case unknownClass = "unknown class"
        case emptyBox = "empty box"
        case degenerateBox = "degenerate box"
        case outOfBounds = "out of bounds"
        case duplicateBox = "duplicate box"
        case unlabeled
        case undecodable
        case imbalance = "class imbalance"
        case exactDuplicate = "exact duplicate"
        case nearDuplicate = "near duplicate"
        /// Duplicates (exact or near) whose given classes differ.
        case conflictingDuplicate = "conflicting duplicate"
        case outlier
    }

    package var kind: Kind
    package var item: String
    package var message: String

    package init(_ kind: Kind, _ item: String, _ message: String) {
        self.kind = kind
        self.item = item
        self.message = message
    }
}

/// Schema and geometry checks over a label set.
///
/// A box is *empty* when its area is zero or it has a NaN coordinate, *degenerate* when it is under one pixel wide
/// or high, *out of bounds* when it leaves [0, W] × [0, H] by more than half a pixel (the item's size must be
/// known); two boxes of the same class from the same source on the same item are *duplicates* when their IoU is
/// above 0.95. *Imbalance* is reported once when the most frequent class has more than `imbalanceRatio` times the
/// items of the least frequent class that has any.
package enum LabelChecks {
    package static func run(_ set: LabelSet, imbalanceRatio: Double = 10) -> [Finding] {
        var findings: [Finding] = []
        let known = Set(set.schema.classes.map(\.id))
        let sizes = Dictionary(set.items.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
        let byItem = set.annotationsByItem()
        for item in set.items where (byItem[item.path] ?? []).isEmpty {
            findings.append(Finding(.unlabeled, item.path, "no labels"))
        }
        for (path, annotations) in byItem.sorted(by: { $0.key < $1.key }) {
            var boxes: [(box: BoundingBox, classID: Int, source: AnnotationSource)] = []
            for a in annotations {
                for k in a.label.classIDs where !known.contains(k) {
                    findings.append(Finding(.unknownClass, path, "class id \(k) is not in the schema"))
                }
                guard case .object(let object) = a.label, let box = object.box else { continue }
                let name = set.schema.name(of: object.classID)
                if !(box.width * box.height > 0) {
                    findings.append(Finding(.emptyBox, path, "\(name) box [\(box.x), \(box.y), \(box.width), \(box.height)] has no area"))
                    continue
                }
                if box.width < 1 || box.height < 1 {
                    findings.append(Finding(.degenerateBox, path, "\(name) box is \(fmt(box.width)) × \(fmt(box.height)) px"))
                }
                if let item = sizes[path], let w = item.width, let h = item.height,
                   box.x < -0.5 || box.y < -0.5 || box.maxX > Double(w) + 0.5 || box.maxY > Double(h) + 0.5 {
                    findings.append(Finding(.outOfBounds, path, "\(name) box [\(fmt(box.x)), \(fmt(box.y)), \(fmt(box.maxX)), \(fmt(box.maxY))] leaves the \(w)×\(h) image"))
                }
                for other in boxes where other.classID == object.classID && other.source == a.source && other.box.iou(box) > 0.95 {
                    findings.append(Finding(.duplicateBox, path, "two \(name) boxes from \(a.source) overlap with IoU \(fmt(other.box.iou(box)))"))
                }
                boxes.append((box, object.classID, a.source))
            }
        }
        var counts: [Int: Int] = [:]
        for (_, annotations) in byItem { for k in Set(annotations.flatMap(\.label.classIDs)) { counts[k, default: 0] += 1 } }
        if let most = counts.max(by: { $0.value < $1.value }), let least = counts.min(by: { $0.value < $1.value }),
           Double(most.value) > imbalanceRatio * Double(least.value) {
            findings.append(Finding(.imbalance, "", "class \(set.schema.name(of: most.key)) has \(Plural.count(most.value, "item")), class \(set.schema.name(of: least.key)) \(least.value): \(String(format: "%.0f", Double(most.value) / Double(least.value)))× (more than \(fmt(imbalanceRatio))×)"))
        }
        return findings
    }
}

/// Box agreement between annotators: for every pair of annotators and every item both boxed, boxes are matched
/// greedily by IoU within a class; F1 counts matches at IoU ≥ 0.5, mean IoU averages the matched pairs.
package struct BoxAgreement: Sendable, Equatable {
    package var pairs: Int
    package var meanIoU: Double
    package var f1: Double

    package init?(_ set: LabelSet) {
        var byItem: [String: [String: [(Int, BoundingBox)]]] = [:]
        for a in set.annotations {
            guard case .object(let o) = a.label, let box = o.box, case .annotator(let id) = a.source else { continue }
            byItem[a.item, default: [:]][id, default: []].append((o.classID, box))
        }
        var matchedIoU = 0.0, matched = 0, tp = 0, total = 0, pairs = 0
        for (_, annotators) in byItem {
            let ids = annotators.keys.sorted()
            guard ids.count >= 2 else { continue }
            for i in 0..<ids.count {
                for j in (i + 1)..<ids.count {
                    let a = annotators[ids[i]]!, b = annotators[ids[j]]!
                    pairs += 1
                    total += a.count + b.count
                    var candidates: [(Double, Int, Int)] = []
                    for (x, p) in a.enumerated() { for (y, q) in b.enumerated() where p.0 == q.0 { let v = p.1.iou(q.1); if v > 0 { candidates.append((v, x, y)) } } }
                    var usedA = Set<Int>(), usedB = Set<Int>()
                    for (v, x, y) in candidates.sorted(by: { $0.0 > $1.0 }) where !usedA.contains(x) && !usedB.contains(y) {
                        usedA.insert(x); usedB.insert(y)
                        matchedIoU += v; matched += 1
                        if v >= 0.5 { tp += 1 }
                    }
                }
            }
        }
        guard pairs > 0 else { return nil }
        self.pairs = pairs
        self.meanIoU = matched > 0 ? matchedIoU / Double(matched) : 0
        self.f1 = total > 0 ? 2 * Double(tp) / Double(total) : 0
    }
}

func fmt(_ v: Double) -> String { formatted(v) }
