import CurateCore
import CurateImaging
import CurateQuality
import Foundation

/// Features per item: embeddings from a file, or pixel features of the images that decode.
package struct FeatureTable: Sendable {
    package var paths: [String]
    /// Row-major, `paths.count` × `dimensions`.
    package var features: [Double]
    package var dimensions: Int
    /// Images that could not be read or decoded (left out).
    package var skipped: [String] = []
    /// Each row's position among all rows the source lists (its row in the embeddings file, its image's place in
    /// the listing): the same for a row whether or not other rows were left out, so shards order rows alike.
    package var positions: [Int] = []

    /// The embeddings file (`.npy` with ids, or `.jsonl`), when given; else the pixel features of `input`'s images
    /// (only of those `keep` accepts, when given: a shard decodes only what it needs).
    package static func load(embeddings: String?, ids: String?, input: DatasetInput, keep: ((String) -> Bool)? = nil) throws -> FeatureTable {
        if let embeddings {
            let e = try Embeddings.load(embeddings, ids: ids)
            return FeatureTable(paths: e.paths, features: e.values, dimensions: e.dimensions, positions: Array(e.paths.indices))
        }
        var table = FeatureTable(paths: [], features: [], dimensions: 0)
        for (position, file) in try input.images(reading: keep ?? { _ in true }).enumerated() where keep?(file.path) ?? true {
            guard let data = file.data, let image = try? ImageDecoder().decode([UInt8](data), source: file.path).pixels else {
                table.skipped.append(file.path)
                continue
            }
            let f = pixelFeatures(image)
            if table.dimensions == 0 { table.dimensions = f.count }
            guard f.count == table.dimensions else {
                throw SelectionError("\(file.path): \(image.width)x\(image.height) gives \(f.count) pixel features, other images \(table.dimensions); pass --embeddings")
            }
            table.paths.append(file.path)
            table.positions.append(position)
            table.features += f
        }
        return table
    }

    func row(_ i: Int) -> ArraySlice<Double> { features[(i * dimensions)..<((i + 1) * dimensions)] }

    /// The rows `shard` owns, as a part: `paths`, `positions`, `features` and `skipped` (with their places).
    package static func part(embeddings: String?, ids: String?, input: DatasetInput, shard: Shard) throws -> ShardOutput {
        var table = try load(embeddings: embeddings, ids: ids, input: input, keep: shard.owns)
        if embeddings != nil {
            let mine = table.paths.indices.filter { shard.owns(table.paths[$0]) }
            table = FeatureTable(paths: mine.map { table.paths[$0] }, features: mine.flatMap { table.row($0) }, dimensions: table.dimensions,
                                 positions: mine.map { table.positions[$0] })
        }
        let listed = Dictionary(input.labels.items.enumerated().map { ($1.path, $0) }, uniquingKeysWith: { a, _ in a })
        return ShardOutput(items: table.paths.count, files: [
            "paths.bin": ShardColumns.data(strings: table.paths),
            "positions.bin": ShardColumns.data(table.positions.map(Int64.init)),
            "features.bin": ShardColumns.data(table.features),
            "dimensions.json": Data("\(table.dimensions)".utf8),
            "skipped.bin": ShardColumns.data(strings: table.skipped),
            "skipped-positions.bin": ShardColumns.data(table.skipped.map { Int64(listed[$0] ?? -1) }),
        ])
    }

    /// Every shard's rows, in the order the unsharded table has them.
    package static func joined(_ parts: [ShardPart]) throws -> FeatureTable {
        var rows: [(position: Int64, path: String, features: ArraySlice<Double>)] = [], skipped: [(Int64, String)] = []
        var dimensions = 0
        for part in parts {
            let paths = ShardColumns.strings(try part.data("paths.bin"))
            let positions = try ShardColumns.values(try part.data("positions.bin"), as: Int64.self, file: part.folder + "/positions.bin")
            let features = try ShardColumns.values(try part.data("features.bin"), as: Double.self, file: part.folder + "/features.bin")
            let d = Int(String(decoding: try part.data("dimensions.json"), as: UTF8.self)) ?? -1
            if !paths.isEmpty && dimensions > 0 && d != dimensions {
                throw SelectionError("\(part.folder): \(d) features per item, other parts \(dimensions)")
            }
            if !paths.isEmpty { dimensions = d }
            guard positions.count == paths.count, features.count == paths.count * max(d, 0) else {
                throw SelectionError("\(part.folder): its columns do not agree (\(paths.count) rows); run its shard again")
            }
            for i in paths.indices { rows.append((positions[i], paths[i], features[(i * d)..<((i + 1) * d)])) }
            skipped += zip(try ShardColumns.values(try part.data("skipped-positions.bin"), as: Int64.self, file: part.folder + "/skipped-positions.bin"),
                           ShardColumns.strings(try part.data("skipped.bin"))).map { ($0, $1) }
        }
        rows.sort { $0.position < $1.position }
        return FeatureTable(paths: rows.map(\.path), features: rows.flatMap(\.features), dimensions: dimensions,
                            skipped: skipped.sorted { $0.0 < $1.0 }.map(\.1), positions: rows.map { Int($0.position) })
    }
}

/// What `curate select` is asked for.
package struct SelectRequest: Sendable {
    package var strategy: Strategy
    package var budget: Int
    /// Model probabilities (`.npy` with `ids`, or `.jsonl`); nil: the built-in learner.
    package var predictions: String?
    package var ids: String?
    /// Committee samples M × N × K (`.npy`, rows as `ids`).
    package var committee: String?
    package var embeddings: String?
    package var embeddingIds: String?
    package var seed: UInt64 = 0
    /// Only these items may be chosen (an item tag), when given.
    package var only: Set<String>?

    package init(strategy: Strategy, budget: Int) {
        self.strategy = strategy
        self.budget = budget
    }
}

/// The batch `curate select` chose.
package struct SelectReport: Codable, Sendable {
    package struct Entry: Codable, Sendable, Equatable {
        package var item: String
        package var score: Double
        package var reason: String
        package var strategy: String
    }
    package var batch: [Entry]
    /// The strategy used (cold start replaces an uncertainty strategy while fewer than two classes are labeled).
    package var strategy: String
    package var candidates: Int
    /// How the probabilities were made, for people ("built-in learner trained on 40 labeled items").
    package var note: String
    package var skipped: [String]
}

/// The learning curves of `curate simulate`.
package struct SimulationReport: Codable, Sendable {
    package struct Point: Codable, Sendable { package var labels: Int; package var accuracy: Double }
    package struct Run: Codable, Sendable {
        package var strategy: String
        /// Labels needed to reach the target, averaged over the seeds that reached it.
        package var labelsToTarget: Double?
        package var runsReachingTarget: Int
        package var curves: [[Point]]
        enum CodingKeys: String, CodingKey { case strategy, labelsToTarget = "labels_to_target", runsReachingTarget = "runs_reaching_target", curves }

        /// The mean curve over the seeds.
        package var mean: [Point] {
            let length = curves.map(\.count).min() ?? 0
            return (0..<length).map { i in Point(labels: curves[0][i].labels, accuracy: curves.map { $0[i].accuracy }.reduce(0, +) / Double(curves.count)) }
        }
    }
    package var target: Double
    package var seeds: Int
    package var train: Int
    package var test: Int
    package var strategies: [Run]
    package var skipped: [String] = []
    enum CodingKeys: String, CodingKey { case target, seeds, train, test, strategies }

    /// The mean curves as an SVG chart.
    package var svg: String {
        learningCurveSVG(strategies.map { r in (r.strategy, r.mean.map { Simulation.Point(labels: $0.labels, accuracy: $0.accuracy) }) }, target: target)
    }
}

/// What `curate triage` found.
package struct TriageReport: Codable, Sendable {
    package struct Redundant: Codable, Sendable { package var item: String; package var of: String }
    package struct Silhouette: Codable, Sendable { package var k: Int; package var score: Double }
    package var k: Int
    package var clusterSizes: [Int]
    package var redundant: [Redundant]
    package var ood: [String]
    package var silhouettes: [Silhouette]
    /// Whether every pair was compared (else, above 5,000 items, the approximate index and a sample for k).
    package var exact: Bool = true
    /// Tag → items (cluster-N, redundant, ood).
    package var tags: [String: [String]] = [:]
    /// Every item, in feature order.
    package var items: [String] = []
    package var skipped: [String] = []
    enum CodingKeys: String, CodingKey { case k, clusterSizes = "cluster_sizes", redundant, ood, silhouettes, exact }

    /// Each item's tags, sorted.
    package var tagsByItem: [String: [String]] {
        var byItem: [String: [String]] = [:]
        for (tag, paths) in tags { for p in paths { byItem[p, default: []].append(tag) } }
        return byItem.mapValues { $0.sorted() }
    }
}

/// `select`, `simulate` and `triage` as library calls.
package enum ActiveLearning {
    /// The rows `select` chooses among: the pool (every predicted or featured item), its labeled rows and its
    /// candidates (unlabeled; only those `shard` owns, when given).
    struct Prepared {
        var strategy: Strategy
        var rows: [String]
        /// Each row's place in its source (predictions row, embeddings row or image listing), for shard merges.
        var positions: [Int]
        var pool: Pool
        var labeled: [Int]
        var candidates: [Int]
        var note = ""
        var skipped: [String]
    }

    static func prepare(_ input: DatasetInput, _ request: SelectRequest, shard: Shard?) throws -> Prepared {
        var strategy = request.strategy
        let set = input.labels
        let given = givenClasses(set)
        // Features are needed to train the learner or for the diversity strategies; with predictions and an
        // uncertainty strategy, no image is decoded. A shard decodes the labeled images and its own.
        let needsFeatures = request.predictions == nil || request.embeddings != nil || strategy.needsEmbeddings || strategy == .coldStart
        let keep: ((String) -> Bool)? = shard.map { shard in { given[$0] != nil || shard.owns($0) } }
        let table = needsFeatures ? try FeatureTable.load(embeddings: request.embeddings, ids: request.embeddingIds, input: input, keep: keep)
            : FeatureTable(paths: [], features: [], dimensions: 0)
        let known = Set(set.items.map(\.path))
        var rows: [String], probabilities: [Double], classes: Int, positions: [Int]
        var note = ""
        if let path = request.predictions {
            let loaded = try Predictions.load(path, ids: request.ids)
            // A shard checks its own rows (its labels may hold only its own items; see ``ownLabelsSuffice(_:)``).
            for (r, id) in loaded.ids.enumerated() where !known.isEmpty && (shard?.owns(id) ?? true) && !known.contains(id) {
                throw SelectionError("\(path): row \(r + 1): \(id) is not an item of the dataset")
            }
            (rows, probabilities, classes, positions) = (loaded.ids, loaded.probabilities, loaded.classes, Array(loaded.ids.indices))
        } else {
            (rows, positions) = (table.paths, table.positions)
            classes = max(set.schema.classes.map(\.id).max().map { $0 + 1 } ?? 2, 2)
            let labeledRows = rows.indices.filter { given[rows[$0]] != nil }
            if Set(labeledRows.compactMap { given[rows[$0]] }).count < 2 {
                if strategy != .random { strategy = .coldStart; note = " (fewer than two classes labeled: cold start by diversity)" }
                probabilities = [Double](repeating: 1 / Double(classes), count: rows.count * classes)
            } else {
                let x = labeledRows.flatMap { table.row($0) }
                let model = LogisticRegression.fit(features: x, dimensions: table.dimensions, labels: labeledRows.compactMap { given[rows[$0]] }, classes: classes)
                probabilities = model.probabilities(table.features, count: rows.count)
                note = " (built-in learner trained on \(labeledRows.count) labeled items)"
            }
        }
        // Embeddings aligned with the rows, when the strategy or the table has them.
        let position = Dictionary(table.paths.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        var aligned: [Double]? = []
        for id in rows {
            guard let p = position[id] else { aligned = nil; break }
            aligned! += table.row(p)
        }
        if aligned == nil && strategy.needsEmbeddings { throw SelectionError("\(strategy.rawValue): some predicted items have no embedding or image") }
        var pool = Pool(count: rows.count, classes: classes, probabilities: probabilities, embeddings: aligned, dimensions: aligned == nil ? 0 : table.dimensions)
        if let committee = request.committee {
            let c = try Committee.load(committee, rows: rows.count, classes: classes)
            pool.committee = c.values
            pool.members = c.members
        }
        let labeled = rows.indices.filter { given[rows[$0]] != nil }
        var candidates = rows.indices.filter { given[rows[$0]] == nil && (shard?.owns(rows[$0]) ?? true) }
        if let only = request.only { candidates = candidates.filter { only.contains(rows[$0]) } }
        return Prepared(strategy: strategy, rows: rows, positions: positions, pool: pool, labeled: labeled, candidates: candidates, note: note, skipped: table.skipped)
    }

    /// The strategy's picks. `random` takes the candidates with the smallest seeded hash of their path, so a
    /// shard's random picks merge exactly (a candidate's chance does not depend on the others).
    static func pick(_ strategy: Strategy, pool: Pool, rows: [String], candidates: [Int], labeled: [Int], budget: Int, seed: UInt64) throws -> [Pick] {
        guard strategy == .random else {
            return try Selector.select(strategy, pool: pool, candidates: candidates, labeled: labeled, budget: budget, seed: seed)
        }
        let keys = candidates.map { Double(randomKey(rows[$0], seed: seed) >> 11) * 0x1p-53 }
        return smallestPositions(min(budget, candidates.count), keys: keys, ties: candidates).map { Pick(row: candidates[$0], score: keys[$0], reason: "random") }
    }

    static func randomKey(_ path: String, seed: UInt64) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in path.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        var rng = SplitMix64(seed: seed ^ hash)
        return rng.next()
    }

    /// Chooses the next batch of unlabeled items (never a labeled one).
    package static func select(_ input: DatasetInput, _ request: SelectRequest) throws -> SelectReport {
        let p = try prepare(input, request, shard: nil)
        let picks = try pick(p.strategy, pool: p.pool, rows: p.rows, candidates: p.candidates, labeled: p.labeled, budget: request.budget, seed: request.seed)
        return SelectReport(batch: picks.map { .init(item: p.rows[$0.row], score: $0.score, reason: $0.reason, strategy: p.strategy.rawValue) },
                            strategy: p.strategy.rawValue, candidates: p.candidates.count, note: p.note, skipped: p.skipped)
    }

    /// What `curate simulate` is asked for.
    package struct SimulationRequest: Sendable {
        package var strategies: [Strategy]
        package var rounds = 10, batch = 20, initial = 20, seeds = 3
        package var seed: UInt64 = 0
        package var target = 0.93
        /// Test items, one path per line (nil: a seeded 20% of the labeled items).
        package var test: String?
        package var embeddings: String?
        package var embeddingIds: String?
        /// The learner's inverse regularisation strength.
        package var c = 1.0
        package init(strategies: [Strategy]) { self.strategies = strategies }
    }

    /// Replays active learning on labeled items: learning curves per strategy and seed.
    package static func simulate(_ input: DatasetInput, _ request: SimulationRequest) throws -> SimulationReport {
        let given = givenClasses(input.labels)
        let table = try FeatureTable.load(embeddings: request.embeddings, ids: request.embeddingIds, input: input)
        let rows = table.paths.indices.filter { given[table.paths[$0]] != nil }
        guard !rows.isEmpty else { throw SelectionError("no item has both a classification label and features") }
        let features = rows.flatMap { table.row($0) }
        let paths = rows.map { table.paths[$0] }
        let labels = paths.compactMap { given[$0] }
        let classes = max((labels.max() ?? 0) + 1, 2)
        var testRows: [Int]
        if let test = request.test {
            let wanted = Set(try InputFile.text(test).split(whereSeparator: \.isNewline).map(String.init))
            testRows = paths.indices.filter { wanted.contains(paths[$0]) }
            guard !testRows.isEmpty else { throw SelectionError("\(test): none of its paths is a labeled item") }
        } else {
            var rng = SplitMix64(seed: request.seed ^ 0x7e57)
            testRows = Array(paths.indices)
            for i in testRows.indices.dropLast() { testRows.swapAt(i, i + Int(rng.next() % UInt64(testRows.count - i))) }
            testRows = Array(testRows.prefix(max(1, paths.count / 5)))
        }
        let testSet = Set(testRows)
        var simulation = Simulation(features: features, dimensions: table.dimensions, labels: labels, classes: classes,
                                    train: paths.indices.filter { !testSet.contains($0) }, test: testRows.sorted())
        simulation.c = request.c
        var runs: [SimulationReport.Run] = []
        for strategy in request.strategies {
            var curves: [[Simulation.Point]] = []
            for s in 0..<request.seeds {
                curves.append(try simulation.curve(strategy, initial: request.initial, batch: request.batch, rounds: request.rounds, seed: request.seed + UInt64(s)))
            }
            let reached = curves.compactMap { Simulation.labelsToReach(request.target, $0) }
            runs.append(.init(strategy: strategy.rawValue, labelsToTarget: reached.isEmpty ? nil : Double(reached.reduce(0, +)) / Double(reached.count),
                              runsReachingTarget: reached.count, curves: curves.map { $0.map { .init(labels: $0.labels, accuracy: $0.accuracy) } }))
        }
        var report = SimulationReport(target: request.target, seeds: request.seeds, train: simulation.train.count, test: simulation.test.count, strategies: runs)
        report.skipped = table.skipped
        return report
    }

    /// Clusters the items, marks redundant and out-of-distribution ones, and names their tags.
    package static func triage(_ input: DatasetInput, embeddings: String?, embeddingIds: String?, clusters: Int?, redundancy: Double, seed: UInt64) throws -> TriageReport {
        try triage(try FeatureTable.load(embeddings: embeddings, ids: embeddingIds, input: input), clusters: clusters, redundancy: redundancy, seed: seed)
    }

    /// Triage of the items of `table`.
    package static func triage(_ table: FeatureTable, clusters: Int?, redundancy: Double, seed: UInt64) throws -> TriageReport {
        guard !table.paths.isEmpty else { throw SelectionError("no item has features") }
        let result = Triage(features: table.features, dimensions: table.dimensions, count: table.paths.count, k: clusters, redundancy: redundancy, seed: seed)
        let tags = result.tags().mapValues { $0.map { table.paths[$0] } }
        var report = TriageReport(k: result.k, clusterSizes: (0..<result.k).map { c in tags["cluster-\(c)"]?.count ?? 0 },
                                  redundant: result.redundant.map { .init(item: table.paths[$0.row], of: table.paths[$0.of]) },
                                  ood: result.outOfDistribution.map { table.paths[$0] }, silhouettes: result.silhouettes.map { .init(k: $0.k, score: $0.score) })
        report.exact = result.exact
        report.tags = tags
        report.items = table.paths
        report.skipped = table.skipped
        return report
    }
}
