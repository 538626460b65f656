import CurateCore
import CurateQuality
import Foundation

/// `select` split across shards. Each shard chooses among the candidates it owns a set that is sure to hold its
/// share of the whole run's batch, and writes those rows (probabilities, embeddings, committee samples); the
/// merge runs the strategy again on the union, in source order.
///
/// Exact for the uncertainty and committee strategies (a shard's top `budget` holds every pick of the batch that
/// is its own), class-balanced (its top `budget` per predicted class), cluster-margin (its top 4 × `budget`
/// margins: the shortlist is then the whole run's, and k-means on it is the same) and random (the smallest seeded
/// hashes of the paths). Approximate for k-center, BADGE and cold start: the merge re-chooses among each shard's
/// `budget` picks, which need not hold the whole run's (docs/sharding.md measures by how much).
extension ActiveLearning {
    struct SelectPartInfo: Codable {
        var strategy: String
        var budget: Int
        var seed: UInt64
        var classes: Int
        var dimensions: Int
        var members: Int
        var candidates: Int
        var note: String
        var skipped: [String]
        var skippedAt: [Int]
        /// The shard's own batch, in order: a one-shard run's merge is this, whatever the strategy.
        var batch: [SelectReport.Entry]
    }

    /// Whether merged shards give exactly the unsharded batch for `strategy`.
    package static func mergesExactly(_ strategy: Strategy) -> Bool { ![.kCenter, .badge, .coldStart].contains(strategy) }

    /// Whether a shard needs the labels of its own items only: with predictions and a strategy that reads no
    /// embeddings, the labels only say which of its rows are candidates (k-center, BADGE, cluster-margin, cold start
    /// and the built-in learner use every labeled item).
    package static func ownLabelsSuffice(_ request: SelectRequest) -> Bool {
        request.predictions != nil && request.embeddings == nil && !request.strategy.needsEmbeddings && request.strategy != .coldStart
    }

    /// One shard's part of ``select(_:_:)``.
    package static func selectPart(_ input: DatasetInput, _ request: SelectRequest, shard: Shard) throws -> ShardOutput {
        let p = try prepare(input, request, shard: shard)
        let b = request.budget
        var chosen: [Int]
        let own = try pick(p.strategy, pool: p.pool, rows: p.rows, candidates: p.candidates, labeled: p.labeled, budget: b, seed: request.seed)
        switch p.strategy {
        case .classBalanced:
            chosen = try pick(.classBalanced, pool: p.pool, rows: p.rows, candidates: p.candidates, labeled: [], budget: b * p.pool.classes, seed: request.seed).map(\.row)
        case .clusterMargin:
            chosen = try pick(.margin, pool: p.pool, rows: p.rows, candidates: p.candidates, labeled: [], budget: 4 * b, seed: request.seed).map(\.row)
        default:
            chosen = own.map(\.row)
        }
        chosen.sort()
        // k-center measures distance from the labeled items too: the first shard carries them.
        let labeled = p.strategy == .kCenter && shard.index == 0 ? p.labeled : []
        let records = (chosen.map { ($0, false) } + labeled.map { ($0, true) }).sorted { $0.0 < $1.0 }
        let k = p.pool.classes, d = p.pool.dimensions, m = p.pool.members
        var probabilities: [Double] = [], embeddings: [Double] = [], committee: [Double] = []
        for (row, _) in records {
            probabilities += p.pool.probabilities[(row * k)..<((row + 1) * k)]
            if let e = p.pool.embeddings { embeddings += e[(row * d)..<((row + 1) * d)] }
            if let c = p.pool.committee {
                for member in 0..<m { let base = (member * p.pool.count + row) * k; committee += c[base..<(base + k)] }
            }
        }
        let skippedAt = p.skipped.map { path in input.labels.items.firstIndex { $0.path == path } ?? -1 }
        let info = SelectPartInfo(strategy: p.strategy.rawValue, budget: b, seed: request.seed, classes: k, dimensions: p.pool.embeddings == nil ? 0 : d,
                                  members: m, candidates: p.candidates.count, note: p.note, skipped: p.skipped, skippedAt: skippedAt,
                                  batch: own.map { .init(item: p.rows[$0.row], score: $0.score, reason: $0.reason, strategy: p.strategy.rawValue) })
        return ShardOutput(items: p.candidates.count, files: [
            "part.json": try JSONEncoder().encode(info),
            "positions.bin": ShardColumns.data(records.map { Int64(p.positions[$0.0]) }),
            "labeled.bin": ShardColumns.data(records.map { UInt8($0.1 ? 1 : 0) }),
            "items.bin": ShardColumns.data(strings: records.map { p.rows[$0.0] }),
            "probabilities.bin": ShardColumns.data(probabilities),
            "embeddings.bin": ShardColumns.data(embeddings),
            "committee.bin": ShardColumns.data(committee),
        ])
    }

    /// The batch from every shard's part: the unsharded run's, exactly where ``mergesExactly(_:)``.
    package static func mergeSelect(_ parts: [ShardPart]) throws -> SelectReport {
        let infos = try parts.map { try JSONDecoder().decode(SelectPartInfo.self, from: try $0.data("part.json")) }
        let first = infos[0]
        guard let strategy = Strategy(rawValue: first.strategy) else { throw SelectionError("\(parts[0].folder): unknown strategy \(first.strategy)") }
        if parts.count == 1 {
            return SelectReport(batch: first.batch, strategy: first.strategy, candidates: first.candidates, note: first.note, skipped: first.skipped)
        }
        let (k, d, m) = (first.classes, first.dimensions, first.members)
        var records: [(position: Int64, item: String, labeled: Bool, probabilities: ArraySlice<Double>, embedding: ArraySlice<Double>, committee: ArraySlice<Double>)] = []
        var skipped: [Int: String] = [:]
        for (part, info) in zip(parts, infos) {
            guard info.strategy == first.strategy, info.classes == k, info.dimensions == d, info.members == m else {
                throw SelectionError("\(part.folder): chose by \(info.strategy) with \(info.classes) classes, \(parts[0].folder) by \(first.strategy) with \(k) (the labels differ between shards?)")
            }
            let positions = try ShardColumns.values(try part.data("positions.bin"), as: Int64.self, file: part.folder + "/positions.bin")
            let labeled = try ShardColumns.values(try part.data("labeled.bin"), as: UInt8.self, file: part.folder + "/labeled.bin")
            let items = ShardColumns.strings(try part.data("items.bin"))
            let p = try ShardColumns.values(try part.data("probabilities.bin"), as: Double.self, file: part.folder + "/probabilities.bin")
            let e = try ShardColumns.values(try part.data("embeddings.bin"), as: Double.self, file: part.folder + "/embeddings.bin")
            let c = try ShardColumns.values(try part.data("committee.bin"), as: Double.self, file: part.folder + "/committee.bin")
            let n = positions.count
            guard labeled.count == n, items.count == n, p.count == n * k, e.count == n * d, c.count == n * m * k else {
                throw SelectionError("\(part.folder): its columns do not agree (\(n) rows); run its shard again")
            }
            for i in 0..<n {
                records.append((positions[i], items[i], labeled[i] != 0, p[(i * k)..<((i + 1) * k)], e[(i * d)..<((i + 1) * d)], c[(i * m * k)..<((i + 1) * m * k)]))
            }
            for (path, at) in zip(info.skipped, info.skippedAt) { skipped[at] = path }
        }
        records.sort { ($0.position, $0.labeled ? 1 : 0) < ($1.position, $1.labeled ? 1 : 0) }
        let n = records.count
        var pool = Pool(count: n, classes: k, probabilities: records.flatMap(\.probabilities), embeddings: d > 0 ? records.flatMap(\.embedding) : nil, dimensions: d)
        if m > 0 {
            var committee = [Double](repeating: 0, count: m * n * k)
            for (i, r) in records.enumerated() {
                for member in 0..<m { for j in 0..<k { committee[(member * n + i) * k + j] = r.committee[r.committee.startIndex + member * k + j] } }
            }
            pool.committee = committee
            pool.members = m
        }
        let candidates = records.indices.filter { !records[$0].labeled }
        let labeled = records.indices.filter { records[$0].labeled }
        let picks = try pick(strategy, pool: pool, rows: records.map(\.item), candidates: candidates, labeled: labeled, budget: first.budget, seed: first.seed)
        var note = first.note
        if !mergesExactly(strategy) {
            note += " (merged from \(parts.count) shards: \(strategy.rawValue) re-chose among each shard's \(first.budget) picks, an approximation)"
        }
        return SelectReport(batch: picks.map { .init(item: records[$0.row].item, score: $0.score, reason: $0.reason, strategy: strategy.rawValue) },
                            strategy: strategy.rawValue, candidates: infos.map(\.candidates).reduce(0, +), note: note,
                            skipped: skipped.sorted { $0.key < $1.key }.map(\.value))
    }
}
