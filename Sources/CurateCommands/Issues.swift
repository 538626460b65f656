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

                Sharded (--parts DIR with --shard I/N or a scheduler's index): each shard examines the items its \
                path hash owns and writes their rows; curate merge DIR runs confident learning on all of them in row \
                order, so the flagged set and ranking are exactly the unsharded run's.

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

        @OptionGroup var sharding: ShardOptions

        func validate() throws {
            guard ConfidentLearning.Filter(rawValue: filter) != nil else {
                throw ValidationError("--filter must be one of \(ConfidentLearning.Filter.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard ConfidentLearning.Score(rawValue: rankBy) != nil else { throw ValidationError("--rank-by must be normalized_margin or self_confidence") }
        }

        func run() async throws {
            try await reportingErrors {
                let gates = try gates(failOn)
                var request = IssuesRequest(predictions: predictions)
                (request.ids, request.filter, request.rankBy, request.iou, request.minScore) = (ids, ConfidentLearning.Filter(rawValue: filter)!,
                                                                                              ConfidentLearning.Score(rawValue: rankBy)!, iou, minScore)
                if let shard = try sharding.resolve() {
                    var inputs = ShardDigest()
                    try source.digest(into: &inputs)
                    try inputs.add(file: predictions)
                    try inputs.add(optionalFile: ids)
                    // A CSV label file's reader skips the other shards' records (their class names still count).
                    let output = try IssuesReport.part(try source.load(keep: { shard.owns($0) }), request, shard: shard)
                    return try sharding.write(output, verb: "issues", shard: shard, inputs: inputs,
                                              parameters: [("filter", filter), ("rank_by", rankBy), ("iou", "\(iou)"), ("min_score", "\(minScore)")])
                }
                let report = try IssuesReport.find(try source.load(), request)
                if json { Console.out(try report.compactJSON()) } else { report.lines(top: top).forEach { Console.out($0) } }
                report.warnings.forEach { Console.warning($0) }
                try checkGates(gates, report.metrics)
            }
        }
    }
}
