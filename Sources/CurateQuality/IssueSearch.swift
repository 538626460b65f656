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
        let loaded = try checkedPredictions(set, request)
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

// MARK: - Shards

extension IssuesReport {
    /// What a part of `curate issues` holds besides its columns.
    struct PartInfo: Codable {
        var kind: String
        var schema: LabelSchema
        var filter: String
        var rankBy: String
        /// Classifications: the columns, the predictions' rows, and the items not examined.
        var classes = 0, rows = 0, unpredicted = 0, unlabeled = 0
        var source = ""
        /// Boxes: this shard's entries and counts.
        var entries: [BoxEntryRecord] = []
        var examinedItems = 0, labeledBoxes = 0
    }

    struct BoxEntryRecord: Codable {
        var kind: String, item: String, classID: Int, box: BoundingBox, score: Double, modelClass: Int?
    }

    /// One shard's share of ``find(_:_:)``: the items `shard` owns, with what the merge needs to finish exactly.
    /// Confident learning needs every item's row (its thresholds and confident joint are global), so a part holds
    /// its examined rows and the merge runs the algorithm on all of them in row order; box issues are per item,
    /// so a part holds its items' findings.
    package static func part(_ set: LabelSet, _ request: IssuesRequest, shard: Shard) throws -> ShardOutput {
        var info = PartInfo(kind: "labels", schema: set.schema, filter: request.filter.rawValue, rankBy: request.rankBy.rawValue)
        if holdsBoxes(request.predictions) {
            var predictions = try BoxPredictions.load(request.predictions, schema: set.schema)
            predictions.boxes = predictions.boxes.filter { shard.owns($0.key) }
            let report = BoxIssueReport(labels: set, predictions: predictions, iouThreshold: request.iou, minScore: request.minScore)
            info.kind = "boxes"
            (info.examinedItems, info.labeledBoxes) = (report.examinedItems, report.labeledBoxes)
            info.entries = report.entries.map { .init(kind: $0.kind.rawValue, item: $0.item, classID: $0.classID, box: $0.box, score: $0.score, modelClass: $0.modelClass) }
            return ShardOutput(items: report.examinedItems, files: ["part.json": try JSONEncoder().encode(info)])
        }
        let loaded = try checkedPredictions(set, request)
        let e = try LabelIssueReport.examined(predictions: loaded, given: givenClasses(set), items: set.items.isEmpty ? nil : Set(set.items.map(\.path)), shard: shard)
        (info.classes, info.rows, info.unpredicted, info.unlabeled, info.source) = (e.classes, loaded.ids.count, e.unpredicted, e.unlabeled, e.source)
        return ShardOutput(items: e.rows.count, files: [
            "part.json": try JSONEncoder().encode(info),
            "rows.bin": ShardColumns.data(e.rows.map(Int64.init)),
            "labels.bin": ShardColumns.data(e.labels.map(Int32.init)),
            "probabilities.bin": ShardColumns.data(e.probabilities),
            "ids.bin": ShardColumns.data(strings: e.ids),
        ])
    }

    /// The report the unsharded run gives, from every shard's part (see ``ShardParts/collect(_:)``).
    package static func merge(_ parts: [ShardPart]) throws -> IssuesReport {
        let infos = try parts.map { try JSONDecoder().decode(PartInfo.self, from: try $0.data("part.json")) }
        guard let first = infos.first, let filter = ConfidentLearning.Filter(rawValue: first.filter), let rankBy = ConfidentLearning.Score(rawValue: first.rankBy) else {
            throw QualityError("\(parts.first?.folder ?? "parts"): part.json names no known filter")
        }
        if first.kind == "boxes" {
            var report = BoxIssueReport(entries: [], examinedItems: 0, labeledBoxes: 0)
            for info in infos {
                report.examinedItems += info.examinedItems
                report.labeledBoxes += info.labeledBoxes
                report.entries += info.entries.map { .init(kind: .init(rawValue: $0.kind) ?? .unsupported, item: $0.item, classID: $0.classID, box: $0.box, score: $0.score, modelClass: $0.modelClass) }
            }
            report.entries.sort(by: BoxIssueReport.order)
            return IssuesReport(labels: nil, boxes: report, schema: first.schema)
        }
        // Rows are unique across shards: placing each record at its row restores the unsharded order in O(N).
        var slot = [Int32](repeating: -1, count: first.rows)
        var columns: [(rows: [Int64], labels: [Int32], probabilities: [Double], ids: [String])] = []
        var total = LabelIssueReport.Examined(classes: first.classes, source: first.source)
        for (p, part) in parts.enumerated() {
            let c = (rows: try ShardColumns.values(try part.data("rows.bin"), as: Int64.self, file: part.folder + "/rows.bin"),
                     labels: try ShardColumns.values(try part.data("labels.bin"), as: Int32.self, file: part.folder + "/labels.bin"),
                     probabilities: try ShardColumns.values(try part.data("probabilities.bin"), as: Double.self, file: part.folder + "/probabilities.bin"),
                     ids: ShardColumns.strings(try part.data("ids.bin")))
            guard c.labels.count == c.rows.count, c.ids.count == c.rows.count, c.probabilities.count == c.rows.count * first.classes,
                  infos[p].classes == first.classes, infos[p].rows == first.rows else {
                throw QualityError("\(part.folder): its columns do not agree (\(c.rows.count) rows); run its shard again")
            }
            for row in c.rows {
                guard row >= 0, row < Int64(first.rows), slot[Int(row)] < 0 else { throw QualityError("\(part.folder): row \(row) is out of range or in two parts") }
                slot[Int(row)] = Int32(p)
            }
            total.unpredicted += infos[p].unpredicted
            total.unlabeled += infos[p].unlabeled
            columns.append(c)
        }
        var next = [Int](repeating: 0, count: parts.count)
        let k = first.classes
        for (row, p) in slot.enumerated() where p >= 0 {
            let p = Int(p), i = next[p]
            next[p] += 1
            total.rows.append(row)
            total.ids.append(columns[p].ids[i])
            total.labels.append(Int(columns[p].labels[i]))
            total.probabilities += columns[p].probabilities[(i * k)..<((i + 1) * k)]
        }
        let report = try LabelIssueReport(total, filter: filter, rankBy: rankBy)
        return IssuesReport(labels: report, boxes: nil, schema: first.schema)
    }

    /// The predictions, checked against the schema's classes.
    static func checkedPredictions(_ set: LabelSet, _ request: IssuesRequest) throws -> Predictions {
        let loaded = try Predictions.load(request.predictions, ids: request.ids)
        // Column k is class id k: a file with more or fewer columns than the schema has classes would suggest
        // classes that do not exist (route refuses it the same way).
        let classCount = set.schema.classes.count
        if classCount > 0, loaded.classes != classCount {
            throw QualityError("\(request.predictions): \(loaded.classes) columns, but the schema has \(classCount) classes (columns are in class-id order)")
        }
        return loaded
    }
}
