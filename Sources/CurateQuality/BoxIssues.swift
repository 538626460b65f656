import CurateCore
import Foundation

/// A detector's boxes per item, read from JSON Lines
/// `{"item": PATH, "boxes": [{"class": NAME, "box": [x, y, w, h], "score": 0.93}, …]}` (COCO-style pixel boxes;
/// `class` a schema name or id).
package struct BoxPredictions: Sendable {
    package struct Box: Sendable, Equatable {
        package var classID: Int
        package var box: BoundingBox
        package var score: Double
    }

    package var boxes: [String: [Box]]
    package var source: String

    package static func load(_ path: String, schema: LabelSchema) throws(QualityError) -> BoxPredictions {
        let data: Data
        do { data = try InputFile.read(path) } catch { throw QualityError("\(path): \(error)", kind: error.kind) }
        var result: [String: [Box]] = [:]
        for (n, line) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.isEmpty { continue }
            let at = "\(path):\(n + 1)"
            guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { throw QualityError("\(at): not a JSON object") }
            guard let item = object["item"] as? String else { throw QualityError("\(at): missing \"item\"") }
            guard let list = object["boxes"] as? [[String: Any]] else { throw QualityError("\(at): missing \"boxes\" list") }
            var boxes: [Box] = []
            for (b, entry) in list.enumerated() {
                let name = entry["class"].map { "\($0)" } ?? ""
                guard let k = schema.id(named: name) ?? Int(name).flatMap({ schema.labelClass(id: $0)?.id }) else {
                    throw QualityError("\(at): boxes[\(b)]: unknown class '\(name)'")
                }
                guard let v = (entry["box"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.doubleValue }), v.count == 4, v.allSatisfy(\.isFinite), v[2] > 0, v[3] > 0 else {
                    throw QualityError("\(at): boxes[\(b)]: box must be [x, y, width, height] with positive width and height")
                }
                guard let score = (entry["score"] as? NSNumber)?.doubleValue, score.isFinite, (0...1).contains(score) else {
                    throw QualityError("\(at): boxes[\(b)]: score must be a number from 0 to 1")
                }
                boxes.append(Box(classID: k, box: BoundingBox(x: v[0], y: v[1], width: v[2], height: v[3]), score: score))
            }
            guard result[item] == nil else { throw QualityError("\(at): \(item) already has a line") }
            result[item] = boxes
        }
        return BoxPredictions(boxes: result, source: path)
    }
}

/// Labeled boxes the model does not support and confident model boxes nobody labeled.
///
/// Per item, labeled and predicted boxes (score ≥ `minScore`) of the same class are matched greedily by IoU,
/// highest first, when IoU ≥ `iouThreshold`. An unmatched labeled box is *unsupported* (with the class of a model
/// box that overlaps it at the threshold, when one does: a likely wrong class); an unmatched model box is a
/// *missing label*. Items without a prediction line are not examined.
package struct BoxIssueReport: Sendable {
    package struct Entry: Sendable, Equatable {
        package enum Kind: String, Sendable { case unsupported = "unsupported box", missing = "missing label", wrongClass = "wrong class" }
        package var kind: Kind
        package var item: String
        package var classID: Int
        package var box: BoundingBox
        /// The model's score for a missing label or a wrong class; 0 for an unsupported box.
        package var score: Double
        /// For a wrong class: what the model says.
        package var modelClass: Int?
    }

    package var entries: [Entry]
    package var examinedItems: Int
    package var labeledBoxes: Int

    /// Highest score first, then by item.
    static func order(_ a: Entry, _ b: Entry) -> Bool { (a.score, b.item) > (b.score, a.item) }

    init(entries: [Entry], examinedItems: Int, labeledBoxes: Int) {
        (self.entries, self.examinedItems, self.labeledBoxes) = (entries, examinedItems, labeledBoxes)
    }

    package init(labels: LabelSet, predictions: BoxPredictions, iouThreshold: Double = 0.5, minScore: Double = 0.5) {
        var entries: [Entry] = []
        var labeledBoxes = 0, examined = 0
        let byItem = labels.annotationsByItem()
        for (item, predicted) in predictions.boxes.sorted(by: { $0.key < $1.key }) {
            examined += 1
            let labeled = (byItem[item] ?? []).compactMap { a -> (Int, BoundingBox)? in
                guard case .object(let o) = a.label, let box = o.box else { return nil }
                return (o.classID, box)
            }
            labeledBoxes += labeled.count
            let model = predicted.filter { $0.score >= minScore }
            var pairs: [(Double, Int, Int)] = []
            for (i, l) in labeled.enumerated() {
                for (j, m) in model.enumerated() where m.classID == l.0 {
                    let v = l.1.iou(m.box)
                    if v >= iouThreshold { pairs.append((v, i, j)) }
                }
            }
            var usedLabels = Set<Int>(), usedModel = Set<Int>()
            for (_, i, j) in pairs.sorted(by: { ($0.0, -$0.1, -$0.2) > ($1.0, -$1.1, -$1.2) }) where !usedLabels.contains(i) && !usedModel.contains(j) {
                usedLabels.insert(i); usedModel.insert(j)
            }
            for (i, l) in labeled.enumerated() where !usedLabels.contains(i) {
                // A model box of another class on the same spot says the class is wrong.
                let other = model.enumerated().filter { !usedModel.contains($0.offset) && $0.element.box.iou(l.1) >= iouThreshold }
                    .max { $0.element.score < $1.element.score }
                if let other {
                    usedModel.insert(other.offset)
                    entries.append(Entry(kind: .wrongClass, item: item, classID: l.0, box: l.1, score: other.element.score, modelClass: other.element.classID))
                } else {
                    entries.append(Entry(kind: .unsupported, item: item, classID: l.0, box: l.1, score: 0, modelClass: nil))
                }
            }
            for (j, m) in model.enumerated() where !usedModel.contains(j) {
                entries.append(Entry(kind: .missing, item: item, classID: m.classID, box: m.box, score: m.score, modelClass: m.classID))
            }
        }
        // Most confident disagreements first.
        self.entries = entries.sorted(by: Self.order)
        self.examinedItems = examined
        self.labeledBoxes = labeledBoxes
    }

    package var metrics: [String: Double] {
        ["issues": Double(entries.count), "issues%": Double(entries.count) / Double(max(1, labeledBoxes))]
    }
}
