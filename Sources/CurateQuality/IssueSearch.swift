import CurateCore
import Foundation

/// What `curate issues` is asked for.
package struct IssuesRequest: Sendable {
    /// Class probabilities (`.npy` with `ids`, or `.jsonl`), or detections (`.jsonl` whose records have "boxes").
    package var predictions: String
    package var ids: String?
    package var filter: ConfidentLearning.Filter = .pruneByNoiseRate
    package var rankBy: ConfidentLearning.Score = .normalizedMargin
    /// Boxes: the IoU at which a model box supports a labeled box, and the lowest score considered.
    package var iou = 0.5
    package var minScore = 0.5

    package init(predictions: String) { self.predictions = predictions }
}

/// The likely label errors `curate issues` found: in classifications (confident learning) or boxes.
package struct IssuesReport: Encodable, Sendable {
    package struct LabelEntry: Codable, Sendable {
        package var item: String, given: String, suggested: String
        package var score: Double, pGiven: Double, pSuggested: Double
        enum CodingKeys: String, CodingKey { case item, given, suggested, score, pGiven = "p_given", pSuggested = "p_suggested" }
    }
    package struct ClassCount: Codable, Sendable { package var examined: Int; package var flagged: Int }
    package struct BoxEntry: Codable, Sendable {
        package var kind: String, item: String, `class`: String
        package var box: [Double]
        package var score: Double
        package var modelClass: String?
        enum CodingKeys: String, CodingKey { case kind, item, `class`, box, score, modelClass = "model_class" }
    }

    /// Classification issues (nil for boxes).
    package var labels: LabelIssueReport?
    /// Box issues (nil for classifications).
    package var boxes: BoxIssueReport?
    package var schema: LabelSchema

    /// The figures `--fail-on` gates test.
    package var metrics: [String: Double] { labels?.metrics ?? boxes?.metrics ?? [:] }

    /// Warnings for people: predicted items without labels and labeled items without predictions.
    package var warnings: [String] {
        guard let r = labels else { return [] }
        return (r.unpredicted > 0 ? ["\(r.unpredicted) labeled items have no prediction and were not examined"] : [])
            + (r.unlabeled > 0 ? ["\(r.unlabeled) predicted items have no classification label and were not examined"] : [])
    }

    enum CodingKeys: String, CodingKey {
        case filter, rankedBy = "ranked_by", examined, flagged, unpredicted, unlabeled, issues, perClass = "per_class",
             examinedItems = "examined_items", labeledBoxes = "labeled_boxes"
    }

    package func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        if let r = labels {
            try c.encode(r.filter.rawValue, forKey: .filter)
            try c.encode(r.rankedBy.rawValue, forKey: .rankedBy)
            try c.encode(r.examined, forKey: .examined)
            try c.encode(r.entries.count, forKey: .flagged)
            try c.encode(r.unpredicted, forKey: .unpredicted)
            try c.encode(r.unlabeled, forKey: .unlabeled)
            try c.encode(r.entries.map { LabelEntry(item: $0.item, given: schema.name(of: $0.given), suggested: schema.name(of: $0.suggested), score: $0.score,
                                                    pGiven: $0.givenProbability, pSuggested: $0.suggestedProbability) }, forKey: .issues)
            try c.encode(Dictionary(uniqueKeysWithValues: r.perClass.map { (schema.name(of: $0.key), ClassCount(examined: $0.value.examined, flagged: $0.value.flagged)) }),
                         forKey: .perClass)
        } else if let r = boxes {
            try c.encode(r.examinedItems, forKey: .examinedItems)
            try c.encode(r.labeledBoxes, forKey: .labeledBoxes)
            try c.encode(r.entries.count, forKey: .flagged)
            try c.encode(r.entries.map { e in
                BoxEntry(kind: e.kind.rawValue, item: e.item, class: schema.name(of: e.classID), box: [e.box.x, e.box.y, e.box.width, e.box.height], score: e.score,
                         modelClass: e.kind == .wrongClass ? e.modelClass.map { schema.name(of: $0) } : nil)
            }, forKey: .issues)
        }
    }

    /// The report as lines for a person, showing the first `top` issues.
    package func lines(top: Int) -> [String] {
        if let r = boxes {
            func box(_ b: BoundingBox) -> String { "[" + [b.x, b.y, b.width, b.height].map { String(format: "%g", $0) }.joined(separator: ", ") + "]" }
            var lines = ["\(r.entries.count) box issues in \(r.examinedItems) items (\(r.labeledBoxes) labeled boxes)"]
            guard !r.entries.isEmpty else { return lines }
            lines.append(TextTable(["issue", "item", "class", "box", "score"], r.entries.prefix(top).map { e in
                [e.kind.rawValue, e.item, schema.name(of: e.classID) + (e.kind == .wrongClass ? " → " + schema.name(of: e.modelClass ?? 0) : ""), box(e.box), String(format: "%.2f", e.score)]
            }).text)
            if r.entries.count > top { lines.append("… \(r.entries.count - top) more (--top N, or --json for all)") }
            return lines
        }
        guard let r = labels else { return [] }
        let share = Double(r.entries.count) / Double(max(1, r.examined)) * 100
        var lines = ["\(r.entries.count) likely label errors in \(r.examined) items (\(String(format: "%.1f", share))%), filter \(r.filter.rawValue), ranked by \(r.rankedBy.rawValue)"]
        guard !r.entries.isEmpty else { return lines }
        lines.append(TextTable(["item", "given", "suggested", r.rankedBy.rawValue, "p(given)", "p(suggested)"], r.entries.prefix(top).map { e in
            [e.item, schema.name(of: e.given), schema.name(of: e.suggested), String(format: "%.3f", e.score), String(format: "%.3f", e.givenProbability),
             String(format: "%.3f", e.suggestedProbability)]
        }).text)
        if r.entries.count > top { lines.append("… \(r.entries.count - top) more (--top N, or --json for all)") }
        let classes = r.perClass.keys.sorted().filter { (r.perClass[$0]?.flagged ?? 0) > 0 }
        if !classes.isEmpty {
            lines.append("per class: " + classes.map { "\(schema.name(of: $0)) \(r.perClass[$0]!.flagged)/\(r.perClass[$0]!.examined)" }.joined(separator: ", "))
        }
        return lines
    }

    /// Finds likely label errors: box issues when the predictions are detections, else confident learning.
    package static func find(_ set: LabelSet, _ request: IssuesRequest) throws -> IssuesReport {
        if holdsBoxes(request.predictions) {
            let report = BoxIssueReport(labels: set, predictions: try BoxPredictions.load(request.predictions, schema: set.schema),
                                        iouThreshold: request.iou, minScore: request.minScore)
            return IssuesReport(labels: nil, boxes: report, schema: set.schema)
        }
        let loaded = try Predictions.load(request.predictions, ids: request.ids)
        // Column k is class id k: a file with more or fewer columns than the schema has classes would suggest
        // classes that do not exist (route refuses it the same way).
        let classCount = set.schema.classes.count
        if classCount > 0, loaded.classes != classCount {
            throw QualityError("\(request.predictions): \(loaded.classes) columns, but the schema has \(classCount) classes (columns are in class-id order)")
        }
        let report = try LabelIssueReport(predictions: loaded, given: givenClasses(set), items: set.items.isEmpty ? nil : Set(set.items.map(\.path)),
                                          filter: request.filter, rankBy: request.rankBy)
        return IssuesReport(labels: report, boxes: nil, schema: set.schema)
    }

    /// A JSON Lines file whose first record has "boxes" holds detections, not class probabilities.
    static func holdsBoxes(_ path: String) -> Bool {
        guard path.hasSuffix(".jsonl"), let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let head = String(decoding: (try? handle.read(upToCount: 1 << 16)) ?? Data(), as: UTF8.self)
        guard let first = head.split(separator: "\n").first(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }),
              let object = try? JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any] else { return false }
        return object["boxes"] != nil
    }
}

/// A plain text table: columns padded to their widest cell, numbers right-aligned.
package struct TextTable: Sendable {
    package var text: String

    package init(_ header: [String], _ rows: [[String]]) {
        let all = [header] + rows
        let widths = header.indices.map { c in all.map { $0[c].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { c, cell in
                let pad = String(repeating: " ", count: widths[c] - cell.count)
                return Double(cell) != nil ? pad + cell : cell + pad
            }.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
        text = ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}
