import ArgumentParser
import CurateCore
import CurateSelection
import Foundation

extension Curate {
    struct Simulate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replay active learning on a labeled dataset: learning curves per strategy.",
            discussion: """
                Hides the labels, starts each run from --initial random labels of the training items, and for \
                --rounds rounds trains the built-in learner (logistic regression on pixel features or \
                --embeddings), measures accuracy on the test items (--test FILE, one path per line; default a \
                seeded 20% of the items), selects --batch items by the strategy and reveals their labels (the \
                oracle). Runs every strategy with seeds --seed … --seed + --seeds − 1 and reports the mean \
                learning curve, the labels each needed to reach --target accuracy (mean over the seeds that \
                reached it), --json, and --plot curve.svg.

                Example:
                  curate simulate --labels datasets/digits/labels.csv --format csv \\
                      --images datasets/digits \\
                      --test datasets/digits/test.txt --strategies random,margin,entropy --rounds 15 --plot curve.svg
                """)

        @OptionGroup var source: LabelSourceOptions

        @Option(help: "Comma-separated strategies.")
        var strategies: String = "random,least-confidence,margin,entropy"

        @Option(help: "Rounds after the initial labels.")
        var rounds: Int = 10

        @Option(help: "Items labeled per round.")
        var batch: Int = 20

        @Option(help: "Random labels to start from.")
        var initial: Int = 20

        @Option(help: "The first seed.")
        var seed: UInt64 = 0

        @Option(help: "Runs per strategy (seeds --seed, --seed + 1, …).")
        var seeds: Int = 3

        @Option(help: "The accuracy to reach.")
        var target: Double = 0.93

        @Option(help: "Test items, one path per line (default: a seeded 20% of the items).")
        var test: String?

        @Option(help: "Embeddings (.npy, N × D) instead of pixel features.")
        var embeddings: String?

        @Option(help: "The item of each embedding row.")
        var embeddingIds: String?

        @Option(help: "Write the learning curves as an SVG chart.")
        var plot: String?

        @Option(name: .customLong("C"), help: "The learner's inverse regularisation strength (scikit-learn's C).")
        var regularization: Double = 1

        @Flag(help: "Print the curves as JSON.")
        var json = false

        func validate() throws {
            for name in strategies.split(separator: ",") where Strategy(rawValue: String(name)) == nil {
                throw ValidationError("unknown strategy '\(name)' (\(Strategy.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard rounds >= 1, batch >= 1, initial >= 1, seeds >= 1 else { throw ValidationError("--rounds, --batch, --initial and --seeds must be at least 1") }
            if let embeddings, !embeddings.hasSuffix(".jsonl"), embeddingIds == nil { throw ValidationError("--embeddings needs --embedding-ids (or a .jsonl)") }
        }

        func run() async throws {
            try await reportingErrors {
                var request = ActiveLearning.SimulationRequest(strategies: strategies.split(separator: ",").compactMap { Strategy(rawValue: String($0)) })
                (request.rounds, request.batch, request.initial, request.seeds, request.seed) = (rounds, batch, initial, seeds, seed)
                (request.target, request.test, request.embeddings, request.embeddingIds, request.c) = (target, test, embeddings, embeddingIds, regularization)
                let report = try ActiveLearning.simulate(try source.input(), request)
                for path in report.skipped { Console.warning("skipped \(path): cannot decode") }
                if let plot { try writeOutput(report.svg, to: plot) }
                if json { Console.out(try report.compactJSON()); return }
                Console.out("\(report.train) training and \(report.test) test items, \(seeds) seeds, \(initial) initial labels + \(rounds) rounds of \(batch)")
                let header = ["strategy", "to \(Int((target * 100).rounded()))%"] + (report.strategies.first?.mean.map { String($0.labels) } ?? [])
                Console.out(Table(header, report.strategies.map { r in
                    let reach = r.labelsToTarget.map { String(format: "%.0f", $0) + (r.runsReachingTarget < seeds ? " (\(r.runsReachingTarget)/\(seeds))" : "") } ?? "not reached"
                    return [r.strategy, reach] + r.mean.map { String(format: "%.3f", $0.accuracy) }
                }).text)
                if let plot { Console.out("plot: \(plot)") }
            }
        }
    }
}
