import ArgumentParser
import CurateCore
import CurateSelection
import CurateVersioning
import Foundation

extension Curate {
    struct Select: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Choose what to label next: a batch of unlabeled items by an active-learning strategy.",
            discussion: """
                Strategies: \(Strategy.allCases.map(\.rawValue).joined(separator: ", ")).
                Uncertainty (least-confidence 1 − max p, margin p1 − p2, entropy) as modAL; vote-entropy, mean-kl \
                and bald need --committee (M × N × K samples, rows as --ids); k-center (farthest-first core-set), \
                badge (k-means++ seeding on embeddings scaled by ‖p − onehot‖) and cluster-margin (lowest margins \
                spread round-robin over k-means clusters) need embeddings; class-balanced splits the budget over \
                predicted classes; cold-start picks by diversity when nothing is labeled (and is used then).

                Labeled items (with a classification label) are never chosen. With --predictions (a .npy N × K \
                with --ids, or JSONL) the model's probabilities are used; without, the built-in learner — \
                multinomial logistic regression, C = 1, by L-BFGS — is trained on the labeled items' --embeddings \
                or pixel features (grey, at most 16 × 16) and predicts the rest. Deterministic for a --seed; ties \
                go to the earlier item.

                Sharded (--parts DIR with --shard I/N or a scheduler's index): each shard chooses among the \
                unlabeled items it owns and curate merge DIR chooses the batch; exact for every strategy but \
                k-center, badge and cold-start, which re-choose among the shards' picks (docs/sharding.md). random \
                takes the items with the smallest seeded hash of their path.

                Examples:
                  curate select --strategy margin --budget 20 --labels labels.csv \\
                      --format csv --images datasets/digits
                  curate select --strategy cluster-margin --budget 100 --predictions p.npy \\
                      --ids ids.txt --embeddings e.npy --embedding-ids ids.txt \\
                      --out batch.jsonl
                """)

        @OptionGroup var source: LabelSourceOptions

        @Option(help: "The strategy.")
        var strategy: String = Strategy.margin.rawValue

        @Option(help: "How many items to choose.")
        var budget: Int

        @Option(help: "Predicted probabilities (.npy with --ids, or .jsonl); default: the built-in learner.")
        var predictions: String?

        @Option(help: "For a .npy of predictions or committee samples: the item of each row.")
        var ids: String?

        @Option(help: "Committee or MC-dropout samples, M × N × K (.npy, rows as --ids).")
        var committee: String?

        @Option(help: "Embeddings (.npy, N × D) for the diversity strategies and the built-in learner.")
        var embeddings: String?

        @Option(help: "The item of each embedding row.")
        var embeddingIds: String?

        @Option(help: "Seed for the random choices.")
        var seed: UInt64 = 0

        @Option(name: .customLong("where"), help: "Only items with this repository item tag, as tag=NAME (see curate triage).")
        var condition: String?

        @Option(help: "Write the batch as JSON Lines {\"item\", \"score\", \"reason\"}.")
        var out: String?

        @Flag(help: "Print the batch as JSON.")
        var json = false

        @OptionGroup var sharding: ShardOptions

        func validate() throws {
            guard Strategy(rawValue: strategy) != nil else { throw ValidationError("--strategy must be one of \(Strategy.allCases.map(\.rawValue).joined(separator: ", "))") }
            guard budget >= 1 else { throw ValidationError("--budget must be at least 1") }
            if let embeddings, !embeddings.hasSuffix(".jsonl"), embeddingIds == nil { throw ValidationError("--embeddings needs --embedding-ids (or a .jsonl)") }
            if committee != nil && ids == nil { throw ValidationError("--committee needs --ids") }
            if sharding.parts != nil && out != nil { throw ValidationError("a shard writes its part into --parts; give --out to curate merge") }
        }

        func run() async throws {
            try await reportingErrors {
                var request = SelectRequest(strategy: Strategy(rawValue: strategy)!, budget: budget)
                (request.predictions, request.ids, request.committee) = (predictions, ids, committee)
                (request.embeddings, request.embeddingIds, request.seed) = (embeddings, embeddingIds, seed)
                if let condition {
                    guard condition.hasPrefix("tag="), condition.count > 4 else { throw ValidationError("--where takes tag=NAME") }
                    request.only = Set(try source.repository.open().items(tagged: String(condition.dropFirst(4))))
                }
                let shard = try sharding.resolve()
                // A shard whose strategy needs only its own items' labels lets a CSV reader skip the others' rows.
                var keep: (@Sendable (String) -> Bool)?
                if let shard, ActiveLearning.ownLabelsSuffice(request) { keep = { shard.owns($0) } }
                let input = try source.input(keep: keep)
                if let shard {
                    var inputs = ShardDigest()
                    try source.digest(into: &inputs)
                    for file in [predictions, ids, committee, embeddings, embeddingIds] { try inputs.add(optionalFile: file) }
                    if predictions == nil && embeddings == nil { source.digestImages(of: input.labels, into: &inputs) }
                    let output = try ActiveLearning.selectPart(input, request, shard: shard)
                    return try sharding.write(output, verb: "select", shard: shard, inputs: inputs,
                                              parameters: [("strategy", strategy), ("budget", "\(budget)"), ("seed", "\(seed)"), ("where", condition ?? "")])
                }
                try Self.print(try ActiveLearning.select(input, request), out: out, json: json)
            }
        }

        /// Prints a batch (and writes it to `out`), as select and merge do.
        static func print(_ report: SelectReport, out: String?, json: Bool) throws {
            for path in report.skipped { Console.warning("skipped \(path): cannot decode") }
            let lines = try report.batch.map { try $0.compactJSON() }
            if let out { try writeOutput(lines.joined(separator: "\n") + "\n", to: out) }
            if json { Console.out("[" + lines.joined(separator: ",") + "]"); return }
            Console.out("\(report.batch.count) of \(report.candidates) unlabeled items by \(report.strategy)\(report.note)")
            Console.out(Table(["item", "reason"], report.batch.map { [$0.item, $0.reason] }).text)
            if let out { Console.out("batch: \(out)") }
        }
    }
}
