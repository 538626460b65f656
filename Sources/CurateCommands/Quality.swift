import ArgumentParser
import CurateCore
import CurateQuality
import CurateVersioning
import Foundation

/// Where a quality command reads labels: a label file, or the repository at a revision.
struct LabelSourceOptions: ParsableArguments {
    @Option(help: "Read labels from this file instead of the repository.")
    var labels: String?

    @Option(help: "The format of --labels.")
    var format: LabelFormat?

    @Option(help: "The folder --labels item paths are relative to (default: the label file's folder).")
    var images: String?

    @Option(help: "Read the repository's labels at this revision (default HEAD, when no --labels).")
    var rev: String?

    @OptionGroup var repository: RepositoryOption

    func validate() throws {
        if labels != nil && format == nil { throw ValidationError("--labels needs --format") }
    }

    func load() throws -> LabelSet {
        if let labels, let format {
            let folder = (labels as NSString).deletingLastPathComponent
            return try format.read(from: labels, options: LabelReadOptions(imagesRoot: images ?? (folder.isEmpty ? "." : folder))).labelSet
        }
        return try repository.open().labels(at: rev ?? "HEAD")
    }
}

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

                --fail-on "issues>5%" (or issues>N) exits 65 when the share (or count) of flagged items is \
                above the bound, for workflows.

                Examples:
                  curate issues --predictions probs.npy --ids ids.txt
                  curate issues --predictions probs.jsonl --labels labels.csv --format csv --json
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

        func validate() throws {
            guard ConfidentLearning.Filter(rawValue: filter) != nil else {
                throw ValidationError("--filter must be one of \(ConfidentLearning.Filter.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard ConfidentLearning.Score(rawValue: rankBy) != nil else { throw ValidationError("--rank-by must be normalized_margin or self_confidence") }
        }

        func run() async throws {
            try await reportingErrors {
                let gates = try failOn.map { text throws(QualityError) in try Gates(text) }
                let set = try source.load()
                let loaded = try Predictions.load(predictions, ids: ids)
                let report = try LabelIssueReport(predictions: loaded, given: givenClasses(set),
                                                  filter: ConfidentLearning.Filter(rawValue: filter)!, rankBy: ConfidentLearning.Score(rawValue: rankBy)!)
                if json { Console.out(try Self.json(report, schema: set.schema)) } else { Self.print(report, schema: set.schema, top: top) }
                if report.unpredicted > 0 { Console.warning("\(report.unpredicted) labeled items have no prediction and were not examined") }
                if report.unlabeled > 0 { Console.warning("\(report.unlabeled) predicted items have no classification label and were not examined") }
                if let gates {
                    let failed = try gates.failures(report.metrics)
                    if !failed.isEmpty { throw CommandFailure(message: "gate failed: " + failed.joined(separator: "; "), exitCode: ExitCodes.dataError) }
                }
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

/// A plain text table: columns padded to their widest cell, numbers right-aligned.
struct Table {
    var text: String

    init(_ header: [String], _ rows: [[String]]) {
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
