import ArgumentParser
import CurateCore
import CurateImaging
import CurateQuality
import CurateSelection
import Foundation

/// Pixel features of every image item that decodes, by path.
package func pixelFeatureTable(_ source: LabelSourceOptions, _ set: LabelSet) throws -> (paths: [String], features: [Double], dimensions: Int) {
    var paths: [String] = [], features: [Double] = [], dimensions = 0
    for file in try source.input().images() {
        guard let data = file.data, let image = try? ImageDecoder().decode([UInt8](data), source: file.path).pixels else {
            Console.warning("skipped \(file.path): cannot decode")
            continue
        }
        let f = pixelFeatures(image)
        if dimensions == 0 { dimensions = f.count }
        guard f.count == dimensions else { throw SelectionError("\(file.path): \(image.width)x\(image.height) gives \(f.count) pixel features, other images \(dimensions); pass --embeddings") }
        paths.append(file.path)
        features += f
    }
    return (paths, features, dimensions)
}

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

        func validate() throws {
            guard Strategy(rawValue: strategy) != nil else { throw ValidationError("--strategy must be one of \(Strategy.allCases.map(\.rawValue).joined(separator: ", "))") }
            guard budget >= 1 else { throw ValidationError("--budget must be at least 1") }
            if let embeddings, !embeddings.hasSuffix(".jsonl"), embeddingIds == nil { throw ValidationError("--embeddings needs --embedding-ids (or a .jsonl)") }
            if committee != nil && ids == nil { throw ValidationError("--committee needs --ids") }
        }

        func run() async throws {
            try await reportingErrors {
                var strategy = Strategy(rawValue: self.strategy)!
                let set = try source.load()
                let given = givenClasses(set)
                // Features are needed to train the learner or for the diversity strategies; with predictions and
                // an uncertainty strategy, no image is decoded.
                let needsFeatures = predictions == nil || embeddings != nil || strategy.needsEmbeddings || strategy == .coldStart
                let table = needsFeatures ? try embeddings.map { try Embeddings.load($0, ids: embeddingIds).table } ?? pixelFeatureTable(source, set)
                    : (paths: [String](), features: [Double](), dimensions: 0)
                let known = Set(set.items.map(\.path))
                var rows: [String], probabilities: [Double], classes: Int
                var note = ""
                if let predictions {
                    let loaded = try Predictions.load(predictions, ids: ids)
                    for (r, id) in loaded.ids.enumerated() where !known.isEmpty && !known.contains(id) {
                        throw SelectionError("\(predictions): row \(r + 1): \(id) is not an item of the dataset")
                    }
                    (rows, probabilities, classes) = (loaded.ids, loaded.probabilities, loaded.classes)
                } else {
                    rows = table.paths
                    classes = max(set.schema.classes.map(\.id).max().map { $0 + 1 } ?? 2, 2)
                    let labeledRows = rows.indices.filter { given[rows[$0]] != nil }
                    if Set(labeledRows.map { given[rows[$0]]! }).count < 2 {
                        if strategy != .random { strategy = .coldStart; note = " (fewer than two classes labeled: cold start by diversity)" }
                        probabilities = [Double](repeating: 1 / Double(classes), count: rows.count * classes)
                    } else {
                        let x = labeledRows.flatMap { table.features[($0 * table.dimensions)..<(($0 + 1) * table.dimensions)] }
                        let model = LogisticRegression.fit(features: x, dimensions: table.dimensions, labels: labeledRows.map { given[rows[$0]]! }, classes: classes)
                        probabilities = model.probabilities(table.features, count: rows.count)
                        note = " (built-in learner trained on \(labeledRows.count) labeled items)"
                    }
                }
                // Embeddings aligned with the rows, when the strategy or the table has them.
                let position = Dictionary(table.paths.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
                var aligned: [Double]? = []
                for id in rows {
                    guard let p = position[id] else { aligned = nil; break }
                    aligned! += table.features[(p * table.dimensions)..<((p + 1) * table.dimensions)]
                }
                if aligned == nil && (strategy.needsEmbeddings) { throw SelectionError("\(strategy.rawValue): some predicted items have no embedding or image") }
                var pool = Pool(count: rows.count, classes: classes, probabilities: probabilities, embeddings: aligned, dimensions: aligned == nil ? 0 : table.dimensions)
                if let committee {
                    let c = try NumpyArray(contentsOf: committee)
                    guard c.shape.count == 3, c.shape[1] == rows.count, c.shape[2] == classes else {
                        throw SelectionError("\(committee): shape \(c.shape) is not M × \(rows.count) × \(classes)")
                    }
                    if let bad = c.values.firstIndex(where: { !$0.isFinite || $0 < 0 || $0 > 1 }) { throw SelectionError("\(committee): value \(c.values[bad]) is not a probability") }
                    pool.committee = c.values
                    pool.members = c.shape[0]
                }
                let labeled = rows.indices.filter { given[rows[$0]] != nil }
                var candidates = rows.indices.filter { given[rows[$0]] == nil }
                if let condition {
                    guard condition.hasPrefix("tag="), condition.count > 4 else { throw ValidationError("--where takes tag=NAME") }
                    let tagged = Set(try source.repository.open().items(tagged: String(condition.dropFirst(4))))
                    candidates = candidates.filter { tagged.contains(rows[$0]) }
                }
                let picks = try Selector.select(strategy, pool: pool, candidates: candidates, labeled: labeled, budget: budget, seed: seed)
                let lines = picks.map { pick in
                    (try? jsonText(["item": rows[pick.row], "score": pick.score, "reason": pick.reason, "strategy": strategy.rawValue])) ?? "{}"
                }
                if let out { try writeOutput(lines.joined(separator: "\n") + "\n", to: out) }
                if json {
                    Console.out("[" + lines.joined(separator: ",") + "]")
                } else {
                    Console.out("\(picks.count) of \(candidates.count) unlabeled items by \(strategy.rawValue)\(note)")
                    Console.out(Table(["item", "reason"], picks.map { [rows[$0.row], $0.reason] }).text)
                    if let out { Console.out("batch: \(out)") }
                }
            }
        }
    }

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
                let set = try source.load()
                let given = givenClasses(set)
                let table = try embeddings.map { try Embeddings.load($0, ids: embeddingIds).table } ?? pixelFeatureTable(source, set)
                let rows = table.paths.indices.filter { given[table.paths[$0]] != nil }
                guard !rows.isEmpty else { throw SelectionError("no item has both a classification label and features") }
                let features = rows.flatMap { table.features[($0 * table.dimensions)..<(($0 + 1) * table.dimensions)] }
                let paths = rows.map { table.paths[$0] }
                let labels = paths.map { given[$0]! }
                let classes = max(labels.max()! + 1, 2)
                var testRows: [Int]
                if let test {
                    guard let text = try? String(contentsOfFile: test, encoding: .utf8) else { throw SelectionError("\(test): cannot read") }
                    let wanted = Set(text.split(whereSeparator: \.isNewline).map(String.init))
                    testRows = paths.indices.filter { wanted.contains(paths[$0]) }
                    guard !testRows.isEmpty else { throw SelectionError("\(test): none of its paths is a labeled item") }
                } else {
                    var rng = SplitMix64(seed: seed ^ 0x7e57)
                    testRows = Array(paths.indices)
                    for i in testRows.indices.dropLast() { testRows.swapAt(i, i + Int(rng.next() % UInt64(testRows.count - i))) }
                    testRows = Array(testRows.prefix(max(1, paths.count / 5)))
                }
                let testSet = Set(testRows)
                var simulation = Simulation(features: features, dimensions: table.dimensions, labels: labels, classes: classes,
                                            train: paths.indices.filter { !testSet.contains($0) }, test: testRows.sorted())
                simulation.c = regularization
                var results: [(name: String, curves: [[Simulation.Point]])] = []
                for name in strategies.split(separator: ",").map(String.init) {
                    var curves: [[Simulation.Point]] = []
                    for s in 0..<seeds { curves.append(try simulation.curve(Strategy(rawValue: name)!, initial: initial, batch: batch, rounds: rounds, seed: seed + UInt64(s))) }
                    results.append((name, curves))
                }
                let means = results.map { r -> (name: String, points: [Simulation.Point]) in
                    let length = r.curves.map(\.count).min() ?? 0
                    return (r.name, (0..<length).map { i in
                        Simulation.Point(labels: r.curves[0][i].labels, accuracy: r.curves.map { $0[i].accuracy }.reduce(0, +) / Double(r.curves.count))
                    })
                }
                func needed(_ curves: [[Simulation.Point]]) -> (mean: Double?, reached: Int) {
                    let values = curves.compactMap { Simulation.labelsToReach(target, $0) }
                    return (values.isEmpty ? nil : Double(values.reduce(0, +)) / Double(values.count), values.count)
                }
                if let plot { try writeOutput(learningCurveSVG(means, target: target), to: plot) }
                if json {
                    let object: [String: Any] = ["target": target, "seeds": seeds, "train": simulation.train.count, "test": simulation.test.count,
                                                 "strategies": results.map { r -> [String: Any] in
                                                     let n = needed(r.curves)
                                                     return ["strategy": r.name, "labels_to_target": n.mean as Any, "runs_reaching_target": n.reached,
                                                             "curves": r.curves.map { $0.map { ["labels": $0.labels, "accuracy": $0.accuracy] } }]
                                                 }]
                    Console.out(try jsonText(object))
                    return
                }
                Console.out("\(simulation.train.count) training and \(simulation.test.count) test items, \(seeds) seeds, \(initial) initial labels + \(rounds) rounds of \(batch)")
                let header = ["strategy", "to \(Int((target * 100).rounded()))%"] + (means.first?.points.map { String($0.labels) } ?? [])
                let tableRows = zip(results, means).map { r, m -> [String] in
                    let n = needed(r.curves)
                    let reach = n.mean.map { String(format: "%.0f", $0) + (n.reached < seeds ? " (\(n.reached)/\(seeds))" : "") } ?? "not reached"
                    return [r.name, reach] + m.points.map { String(format: "%.3f", $0.accuracy) }
                }
                Console.out(Table(header, tableRows).text)
                if let plot { Console.out("plot: \(plot)") }
            }
        }
    }
}

extension Curate {
    struct Triage: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Group items for review: clusters, redundant items, out-of-distribution items; tag them.",
            discussion: """
                Clusters the items' --embeddings (or pixel features) by k-means — --clusters K, or k estimated \
                as the best mean silhouette for k = 2 … min(20, √N) — and marks redundant items (cosine ≥ \
                --redundancy with an earlier item of the same cluster) and out-of-distribution items (mean \
                distance to the 5 nearest neighbours over 3 standard deviations above the mean). Tags: \
                cluster-N, redundant, ood. --write-tags stores them in the repository (replacing an earlier \
                triage's), so `curate select --where tag=cluster-3` and `curate checkout REV --where tag=ood --to \
                DIR` use them; item tags are repository metadata, not part of commits. --out writes \
                {"item", "tags"} lines.

                Example:
                  curate triage --labels datasets/digits/labels.csv --format csv \\
                      --images datasets/digits --out triage.jsonl
                """)

        @OptionGroup var source: LabelSourceOptions

        @Option(help: "The number of clusters (default: estimated).")
        var clusters: Int?

        @Option(help: "Redundant: cosine similarity at least this with an earlier item of the cluster.")
        var redundancy: Double = 0.99

        @Option(help: "Embeddings (.npy, N × D) instead of pixel features.")
        var embeddings: String?

        @Option(help: "The item of each embedding row.")
        var embeddingIds: String?

        @Option(help: "Seed for k-means.")
        var seed: UInt64 = 0

        @Flag(help: "Store the tags in the repository.")
        var writeTags = false

        @Option(help: "Write {\"item\", \"tags\"} JSON Lines here.")
        var out: String?

        @Flag(help: "Print the result as JSON.")
        var json = false

        func validate() throws {
            if writeTags && source.labels != nil { throw ValidationError("--write-tags stores tags in a repository; drop --labels") }
            if let embeddings, !embeddings.hasSuffix(".jsonl"), embeddingIds == nil { throw ValidationError("--embeddings needs --embedding-ids (or a .jsonl)") }
            if let clusters, clusters < 1 { throw ValidationError("--clusters must be at least 1") }
        }

        func run() async throws {
            try await reportingErrors {
                let set = try source.load()
                let table = try embeddings.map { try Embeddings.load($0, ids: embeddingIds).table } ?? pixelFeatureTable(source, set)
                guard !table.paths.isEmpty else { throw SelectionError("no item has features") }
                let result = CurateSelection.Triage(features: table.features, dimensions: table.dimensions, count: table.paths.count,
                                                    k: clusters, redundancy: redundancy, seed: seed)
                let tags = result.tags().mapValues { $0.map { table.paths[$0] } }
                var byItem: [String: [String]] = [:]
                for (tag, paths) in tags { for p in paths { byItem[p, default: []].append(tag) } }
                if let out {
                    let lines = table.paths.map { p in (try? jsonText(["item": p, "tags": (byItem[p] ?? []).sorted()])) ?? "{}" }
                    try writeOutput(lines.joined(separator: "\n") + "\n", to: out)
                }
                if writeTags { try source.repository.open().setItemTags(tags, replacing: CurateSelection.Triage.tagPrefixes) }
                let sizes = (0..<result.k).map { c in tags["cluster-\(c)"]?.count ?? 0 }
                if json {
                    Console.out(try jsonText(["k": result.k, "cluster_sizes": sizes, "redundant": result.redundant.map { ["item": table.paths[$0.row], "of": table.paths[$0.of]] },
                                              "ood": result.outOfDistribution.map { table.paths[$0] },
                                              "silhouettes": result.silhouettes.map { ["k": $0.k, "score": $0.score] }]))
                    return
                }
                let how = clusters == nil ? "estimated by silhouette" : "chosen"
                Console.out("\(table.paths.count) items in \(result.k) clusters (\(how)); \(result.redundant.count) redundant, \(result.outOfDistribution.count) out of distribution")
                Console.out("cluster sizes: " + sizes.enumerated().map { "\($0.offset): \($0.element)" }.joined(separator: ", "))
                for r in result.redundant.prefix(5) { Console.out("redundant: \(table.paths[r.row]) repeats \(table.paths[r.of])") }
                for o in result.outOfDistribution.prefix(5) { Console.out("ood: \(table.paths[o])") }
                if writeTags { Console.out("tags written: " + tags.keys.sorted { $0.compare($1, options: .numeric) == .orderedAscending }.joined(separator: ", ")) }
                if let out { Console.out("tags: \(out)") }
            }
        }
    }
}

/// Writes a command's output file atomically; a failure is one line naming the file.
func writeOutput(_ text: String, to path: String) throws {
    do { try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
        let folder = (path as NSString).deletingLastPathComponent
        let reason = !folder.isEmpty && !FileManager.default.fileExists(atPath: folder) ? "folder \(folder) does not exist" : "cannot write"
        throw CommandFailure(message: "\(path): \(reason)", kind: .internal)
    }
}
