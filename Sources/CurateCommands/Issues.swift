import ArgumentParser
import CurateCore
import CurateQuality
import Foundation

extension Curate {
    struct Issues: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "issues",
            abstract: "Find likely label errors from a model's out-of-sample predicted probabilities.",
            discussion: """
                Confident learning, as cleanlab's find_label_issues: per-class thresholds (the mean predicted \
                probability of each class over the items labeled with it), the confident joint of given and \
                likely-true classes calibrated to the label counts, and pruning by the estimated noise rate \
                (--filter prune_by_noise_rate, the default; also prune_by_class, both, confident_learning, \
                predicted_neq_given, low_normalized_margin, low_self_confidence). Flagged items are ranked by \
                --rank-by (normalized_margin: (p(given) − max other + 1) / 2, or self_confidence: p(given)), \
                lowest first, each with the most probable other class as the suggested label.

                Predictions: a .npy of N × K float32/float64 probabilities with --ids (one item path per line, \
                row order), or JSON Lines {"item": PATH, "probs": [...]}. Column k is the class with schema id \
                k. Use out-of-sample probabilities (cross-validation), or the model will vouch for the labels \
                it was trained on. Rows must be finite, within [0, 1] and sum to 1 within 0.001.

                Boxes: with detections in JSON Lines {"item": PATH, "boxes": [{"class": NAME, "box": [x, y, w, h], \
                "score": s}]}, labeled and model boxes (score ≥ --min-score) of the same class are matched by IoU \
                (≥ --iou, greedily, best first): a labeled box with no match is unsupported — or of the wrong class \
                when a model box of another class covers it — and a model box with no match is a missing label.

                --fail-on "issues>5%" (or issues>N) exits 65 when the share (or count) of flagged items (labeled \
                boxes, for detections) is above the bound, for workflows.

                Examples:
                  curate issues --predictions probs.npy --ids ids.txt
                  curate issues --predictions probs.jsonl --labels labels.csv --format csv \\
                      --json
                """)

        @Option(help: "Predicted probabilities (.npy with --ids, or .jsonl).")
        var predictions: String

        @Option(help: "For a .npy: the item path of each row, one per line.")
        var ids: String?

        @OptionGroup var source: LabelSourceOptions

        @Option(help: "How issues are chosen: \(ConfidentLearning.Filter.allCases.map(\.rawValue).joined(separator: ", ")).")
        var filter: String = ConfidentLearning.Filter.pruneByNoiseRate.rawValue

        @Option(help: "How flagged items are ranked: normalized_margin or self_confidence.")
        var rankBy: String = ConfidentLearning.Score.normalizedMargin.rawValue

        @Option(help: "Rows to show in the table (all are in --json).")
        var top: Int = 20

        @Flag(help: "Print the report as JSON.")
        var json = false

        @Option(help: "Exit 65 when a condition holds, e.g. \"issues>5%\".")
        var failOn: String?

        @Option(help: "Boxes: the IoU at which a model box supports a labeled box.")
        var iou: Double = 0.5

        @Option(help: "Boxes: model boxes below this score are ignored.")
        var minScore: Double = 0.5

        /// A JSON Lines file whose first record has "boxes" holds detections, not class probabilities.
        static func holdsBoxes(_ path: String) -> Bool {
            guard path.hasSuffix(".jsonl"), let handle = FileHandle(forReadingAtPath: path) else { return false }
            defer { try? handle.close() }
            let head = String(decoding: (try? handle.read(upToCount: 1 << 16)) ?? Data(), as: UTF8.self)
            guard let first = head.split(separator: "\n").first(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }),
                  let object = try? JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any] else { return false }
            return object["boxes"] != nil
        }

        static func print(_ report: BoxIssueReport, schema: LabelSchema, top: Int, json: Bool) {
            func box(_ b: BoundingBox) -> String { "[" + [b.x, b.y, b.width, b.height].map { String(format: "%g", $0) }.joined(separator: ", ") + "]" }
            if json {
                let object: [String: Any] = ["examined_items": report.examinedItems, "labeled_boxes": report.labeledBoxes, "flagged": report.entries.count,
                                             "issues": report.entries.map { e -> [String: Any] in
                                                 var o: [String: Any] = ["kind": e.kind.rawValue, "item": e.item, "class": schema.name(of: e.classID), "box": [e.box.x, e.box.y, e.box.width, e.box.height], "score": e.score]
                                                 if let m = e.modelClass, e.kind == .wrongClass { o["model_class"] = schema.name(of: m) }
                                                 return o
                                             }]
                Console.out((try? jsonText(object)) ?? "{}")
                return
            }
            Console.out("\(report.entries.count) box issues in \(report.examinedItems) items (\(report.labeledBoxes) labeled boxes)")
            guard !report.entries.isEmpty else { return }
            let rows = report.entries.prefix(top).map { e in
                [e.kind.rawValue, e.item, schema.name(of: e.classID) + (e.kind == .wrongClass ? " → " + schema.name(of: e.modelClass ?? 0) : ""), box(e.box), String(format: "%.2f", e.score)]
            }
            Console.out(Table(["issue", "item", "class", "box", "score"], rows).text)
            if report.entries.count > top { Console.out("… \(report.entries.count - top) more (--top N, or --json for all)") }
        }

        func validate() throws {
            guard ConfidentLearning.Filter(rawValue: filter) != nil else {
                throw ValidationError("--filter must be one of \(ConfidentLearning.Filter.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard ConfidentLearning.Score(rawValue: rankBy) != nil else { throw ValidationError("--rank-by must be normalized_margin or self_confidence") }
        }

        func run() async throws {
            try await reportingErrors {
                let gates = try gates(failOn)
                let set = try source.load()
                if Self.holdsBoxes(predictions) {
                    let report = BoxIssueReport(labels: set, predictions: try BoxPredictions.load(predictions, schema: set.schema), iouThreshold: iou, minScore: minScore)
                    Self.print(report, schema: set.schema, top: top, json: json)
                    try checkGates(gates, report.metrics)
                    return
                }
                let loaded = try Predictions.load(predictions, ids: ids)
                // Column k is class id k: a file with more or fewer columns than the schema has classes would
                // suggest classes that do not exist (route refuses it the same way).
                let classCount = set.schema.classes.count
                if classCount > 0, loaded.classes != classCount {
                    throw QualityError("\(predictions): \(loaded.classes) columns, but the schema has \(classCount) classes (columns are in class-id order)")
                }
                let report = try LabelIssueReport(predictions: loaded, given: givenClasses(set), items: set.items.isEmpty ? nil : Set(set.items.map(\.path)),
                                                  filter: ConfidentLearning.Filter(rawValue: filter)!, rankBy: ConfidentLearning.Score(rawValue: rankBy)!)
                if json { Console.out(try Self.json(report, schema: set.schema)) } else { Self.print(report, schema: set.schema, top: top) }
                if report.unpredicted > 0 { Console.warning("\(report.unpredicted) labeled items have no prediction and were not examined") }
                if report.unlabeled > 0 { Console.warning("\(report.unlabeled) predicted items have no classification label and were not examined") }
                try checkGates(gates, report.metrics)
            }
        }

        static func print(_ report: LabelIssueReport, schema: LabelSchema, top: Int) {
            let share = Double(report.entries.count) / Double(max(1, report.examined)) * 100
            Console.out("\(report.entries.count) likely label errors in \(report.examined) items (\(String(format: "%.1f", share))%), filter \(report.filter.rawValue), ranked by \(report.rankedBy.rawValue)")
            guard !report.entries.isEmpty else { return }
            let rows = report.entries.prefix(top).map { e in
                [e.item, schema.name(of: e.given), schema.name(of: e.suggested), String(format: "%.3f", e.score),
                 String(format: "%.3f", e.givenProbability), String(format: "%.3f", e.suggestedProbability)]
            }
            Console.out(Table(["item", "given", "suggested", report.rankedBy.rawValue, "p(given)", "p(suggested)"], rows).text)
            if report.entries.count > top { Console.out("… \(report.entries.count - top) more (--top N, or --json for all)") }
            let classes = report.perClass.keys.sorted().filter { report.perClass[$0]!.flagged > 0 }
            if !classes.isEmpty {
                Console.out("per class: " + classes.map { "\(schema.name(of: $0)) \(report.perClass[$0]!.flagged)/\(report.perClass[$0]!.examined)" }.joined(separator: ", "))
            }
        }

        static func json(_ report: LabelIssueReport, schema: LabelSchema) throws -> String {
            let object: [String: Any] = [
                "filter": report.filter.rawValue, "ranked_by": report.rankedBy.rawValue, "examined": report.examined,
                "flagged": report.entries.count, "unpredicted": report.unpredicted, "unlabeled": report.unlabeled,
                "issues": report.entries.map { e -> [String: Any] in
                    ["item": e.item, "given": schema.name(of: e.given), "suggested": schema.name(of: e.suggested), "score": e.score,
                     "p_given": e.givenProbability, "p_suggested": e.suggestedProbability]
                },
                "per_class": Dictionary(uniqueKeysWithValues: report.perClass.map { (schema.name(of: $0.key), ["examined": $0.value.examined, "flagged": $0.value.flagged]) }),
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            return String(decoding: data, as: UTF8.self)
        }
    }
}
