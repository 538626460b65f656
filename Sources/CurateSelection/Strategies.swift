import CurateCore
import CurateQuality
import Foundation

/// What a selection strategy sees: model outputs for every row of a pool.
///
/// `probabilities` is row-major N × K; `embeddings` row-major N × D; `committee` M × N × K (members' or MC-dropout
/// samples' probabilities).
package struct Pool: Sendable {
    package var count: Int
    package var classes: Int
    package var probabilities: [Double]
    package var embeddings: [Double]?
    package var dimensions: Int
    package var committee: [Double]?
    package var members: Int

    package init(count: Int, classes: Int, probabilities: [Double], embeddings: [Double]? = nil, dimensions: Int = 0,
                committee: [Double]? = nil, members: Int = 0) {
        self.count = count
        self.classes = classes
        self.probabilities = probabilities
        self.embeddings = embeddings
        self.dimensions = dimensions
        self.committee = committee
        self.members = members
    }

    @inline(__always) func p(_ i: Int, _ k: Int) -> Double { probabilities[i * classes + k] }
}

/// One chosen item: its pool row, its score and why.
package struct Pick: Sendable, Equatable {
    package var row: Int
    package var score: Double
    package var reason: String
}

/// The selection strategies. Every one is deterministic given `seed` and breaks ties by the lower row.
package enum Strategy: String, Sendable, CaseIterable {
    case random
    /// 1 − max p (modAL's classifier_uncertainty).
    case leastConfidence = "least-confidence"
    /// Smallest difference between the two most probable classes.
    case margin
    /// Largest entropy −Σ p log p.
    case entropy
    /// Query by committee: entropy of the members' votes.
    case voteEntropy = "vote-entropy"
    /// Query by committee: mean KL divergence of each member from the consensus.
    case meanKL = "mean-kl"
    /// BALD: entropy of the mean prediction minus the mean entropy of the samples.
    case bald
    /// k-center greedy core-set on embeddings (farthest from everything labeled or chosen).
    case kCenter = "k-center"
    /// BADGE-style: k-means++ seeding on embeddings scaled by ‖p − onehot(argmax p)‖.
    case badge
    /// Cluster-margin: the lowest margins, spread round-robin over k-means clusters of their embeddings.
    case clusterMargin = "cluster-margin"
    /// Lowest margins, the budget split evenly over predicted classes.
    case classBalanced = "class-balanced"
    /// Nothing labeled yet: k-center greedy from a seeded first item (random without embeddings).
    case coldStart = "cold-start"

    package var needsEmbeddings: Bool { [.kCenter, .badge, .clusterMargin].contains(self) }
    package var needsCommittee: Bool { [.voteEntropy, .meanKL, .bald].contains(self) }
}

package struct SelectionError: CurateError {
    package var message: String
    /// Its kind in the shared vocabulary (most selection failures are data that failed checks).
    package var kind: FailureKind
    package init(_ message: String, kind: FailureKind = .invalidData) { self.message = message; self.kind = kind }
    package var description: String { message }
}

package enum Selector {
    /// Chooses `budget` rows from `candidates` (the unlabeled rows), with `labeled` rows as already covered (for
    /// the diversity strategies).
    package static func select(_ strategy: Strategy, pool: Pool, candidates: [Int], labeled: [Int] = [], budget: Int,
                              seed: UInt64 = 0) throws(SelectionError) -> [Pick] {
        let budget = min(budget, candidates.count)
        guard budget > 0 else { return [] }
        if strategy.needsEmbeddings {
            guard pool.embeddings != nil, pool.dimensions > 0 else { throw SelectionError("\(strategy.rawValue) needs embeddings (--embeddings)") }
        }
        if strategy.needsCommittee {
            guard pool.committee != nil, pool.members >= 2 else { throw SelectionError("\(strategy.rawValue) needs committee or MC-dropout samples (--committee, M × N × K with M ≥ 2)") }
        }
        switch strategy {
        case .random:
            var rng = SplitMix64(seed: seed)
            var rows = candidates
            for i in 0..<budget { rows.swapAt(i, i + Int(rng.next() % UInt64(rows.count - i))) }
            return rows.prefix(budget).map { Pick(row: $0, score: 0, reason: "random") }
        case .leastConfidence, .margin, .entropy, .voteEntropy, .meanKL, .bald:
            let scores = uncertainty(strategy, pool: pool, rows: candidates)
            // Margins rank by their negative (smallest first); the reason shows the margin itself, p1 − p2 ≥ 0.
            return top(budget, of: candidates, scores: scores).map {
                Pick(row: candidates[$0], score: scores[$0], reason: "\(strategy.rawValue) \(fmt(strategy == .margin ? -scores[$0] : scores[$0]))")
            }
        case .kCenter:
            return kCenterGreedy(pool: pool, candidates: candidates, labeled: labeled, budget: budget, seed: seed)
        case .coldStart:
            guard pool.embeddings != nil else { return try select(.random, pool: pool, candidates: candidates, budget: budget, seed: seed) }
            return kCenterGreedy(pool: pool, candidates: candidates, labeled: [], budget: budget, seed: seed).map {
                Pick(row: $0.row, score: $0.score, reason: "cold start: " + $0.reason)
            }
        case .badge:
            return badge(pool: pool, candidates: candidates, budget: budget, seed: seed)
        case .clusterMargin:
            return clusterMargin(pool: pool, candidates: candidates, budget: budget, seed: seed)
        case .classBalanced:
            return classBalanced(pool: pool, candidates: candidates, budget: budget)
        }
    }

    /// Higher is more uncertain, for every uncertainty strategy (margin is negated).
    package static func uncertainty(_ strategy: Strategy, pool: Pool, rows: [Int]) -> [Double] {
        let k = pool.classes
        func entropy(_ values: ArraySlice<Double>) -> Double { values.reduce(0) { $1 > 0 ? $0 - $1 * log($1) : $0 } }
        return rows.map { i in
            let row = pool.probabilities[(i * k)..<((i + 1) * k)]
            switch strategy {
            case .leastConfidence: return 1 - (row.max() ?? 0)
            case .margin:
                var first = -Double.infinity, second = -Double.infinity
                for v in row { if v > first { second = first; first = v } else if v > second { second = v } }
                return -(first - (k > 1 ? second : 0))
            case .entropy: return entropy(row)
            case .voteEntropy, .meanKL, .bald:
                let m = pool.members, c = pool.committee!
                var mean = [Double](repeating: 0, count: k), votes = [Double](repeating: 0, count: k)
                var meanEntropy = 0.0
                for member in 0..<m {
                    let base = (member * pool.count + i) * k
                    let sample = c[base..<(base + k)]
                    var best = 0
                    for j in 0..<k { mean[j] += sample[base + j] / Double(m); if sample[base + j] > sample[base + best] { best = j } }
                    votes[best] += 1 / Double(m)
                    meanEntropy += entropy(sample) / Double(m)
                }
                switch strategy {
                case .voteEntropy: return entropy(votes[...])
                case .bald: return entropy(mean[...]) - meanEntropy
                default:
                    var kl = 0.0
                    for member in 0..<m {
                        let base = (member * pool.count + i) * k
                        for j in 0..<k where c[base + j] > 0 { kl += c[base + j] * log(c[base + j] / max(mean[j], 1e-300)) / Double(m) }
                    }
                    return kl
                }
            default: return 0
            }
        }
    }

    /// Positions of the `count` largest scores, largest first, ties to the lower row.
    static func top(_ count: Int, of rows: [Int], scores: [Double]) -> [Int] {
        smallestPositions(count, keys: scores.map { -$0 }, ties: rows)
    }

    /// Farthest-first traversal: each pick is the candidate farthest (Euclidean) from every labeled row and every
    /// earlier pick; with nothing labeled, the first pick is a seeded random candidate. Distances in single
    /// precision on both cores; ties to the earlier candidate.
    static func kCenterGreedy(pool: Pool, candidates: [Int], labeled: [Int], budget: Int, seed: UInt64) -> [Pick] {
        let d = pool.dimensions
        let e = pool.embeddings!
        var rows = [Float](repeating: 0, count: candidates.count * d)
        for (i, row) in candidates.enumerated() { for j in 0..<d { rows[i * d + j] = Float(e[row * d + j]) } }
        var nearest = [Float](repeating: .infinity, count: candidates.count)
        var center = [Float](repeating: 0, count: d)
        var picks: [Pick] = []
        var chosen = [Bool](repeating: false, count: candidates.count)
        rows.withUnsafeBufferPointer { rp in
            nearest.withUnsafeMutableBufferPointer { np in
                center.withUnsafeMutableBufferPointer { cp in
                    func update(_ source: (Int) -> Float) {
                        for j in 0..<d { cp[j] = source(j) }
                        Distances.update(.init(rows: rp.baseAddress!, nearest: np.baseAddress!, center: cp.baseAddress!), count: candidates.count, dimensions: d)
                    }
                    for row in labeled { update { Float(e[row * d + $0]) } }
                    if labeled.isEmpty {
                        var rng = SplitMix64(seed: seed)
                        let first = Int(rng.next() % UInt64(candidates.count))
                        picks.append(Pick(row: candidates[first], score: 0, reason: "first center (seeded)"))
                        chosen[first] = true
                        update { rp[first * d + $0] }
                    }
                    while picks.count < budget {
                        var best = -1
                        var bestValue: Float = -1
                        for i in 0..<candidates.count where !chosen[i] && np[i] > bestValue { best = i; bestValue = np[i] }
                        guard best >= 0 else { break }
                        chosen[best] = true
                        let distance = Double(np[best]).squareRoot()
                        picks.append(Pick(row: candidates[best], score: distance, reason: "distance to nearest center \(fmt(distance))"))
                        update { rp[best * d + $0] }
                    }
                }
            }
        }
        return picks
    }

    /// BADGE-style: embeddings scaled by ‖p − onehot(argmax p)‖ (the norm BADGE's gradient embedding has per unit
    /// of feature norm), then k-means++ seeding: the largest first, then each next with probability ∝ squared
    /// distance to the nearest chosen.
    static func badge(pool: Pool, candidates: [Int], budget: Int, seed: UInt64) -> [Pick] {
        let d = pool.dimensions, k = pool.classes
        let e = pool.embeddings!
        var scaled = [Float](repeating: 0, count: candidates.count * d)
        var weights = [Double](repeating: 0, count: candidates.count)
        var norms = [Double](repeating: 0, count: candidates.count)
        for (i, row) in candidates.enumerated() {
            var best = 0
            for j in 1..<max(k, 1) where pool.p(row, j) > pool.p(row, best) { best = j }
            var norm = 0.0
            for j in 0..<k { let g = pool.p(row, j) - (j == best ? 1 : 0); norm += g * g }
            weights[i] = norm.squareRoot()
            for j in 0..<d {
                let v = e[row * d + j] * weights[i]
                scaled[i * d + j] = Float(v)
                norms[i] += v * v
            }
        }
        var rng = SplitMix64(seed: seed)
        var nearest = [Float](repeating: .infinity, count: candidates.count)
        var center = [Float](repeating: 0, count: d)
        var picks: [Pick] = []
        var chosen = [Bool](repeating: false, count: candidates.count)
        var next = norms.indices.max { (norms[$0], -$0) < (norms[$1], -$1) }!
        scaled.withUnsafeBufferPointer { xp in
            nearest.withUnsafeMutableBufferPointer { np in
                center.withUnsafeMutableBufferPointer { cp in
                    while true {
                        chosen[next] = true
                        picks.append(Pick(row: candidates[next], score: weights[next], reason: "gradient norm \(fmt(weights[next]))"))
                        if picks.count >= budget { break }
                        for j in 0..<d { cp[j] = xp[next * d + j] }
                        Distances.update(.init(rows: xp.baseAddress!, nearest: np.baseAddress!, center: cp.baseAddress!), count: candidates.count, dimensions: d)
                        var total = 0.0
                        for i in 0..<candidates.count where !chosen[i] { total += Double(np[i]) }
                        if total <= 0 {
                            // Everything left coincides with a chosen point: take the rest in order.
                            guard let i = chosen.firstIndex(of: false) else { break }
                            next = i
                            continue
                        }
                        var target = Double(rng.next() >> 11) * 0x1p-53 * total
                        next = -1
                        for i in 0..<candidates.count where !chosen[i] {
                            target -= Double(np[i])
                            if target < 0 { next = i; break }
                        }
                        if next < 0 { next = chosen.lastIndex(of: false)! }
                    }
                }
            }
        }
        return picks
    }

    /// Seeded k-means (k-means++ start, Lloyd iterations) of the given rows' embeddings: a cluster per row. Above
    /// `NearestNeighbours.exactLimit` rows, the same steps in single precision (``Clustering``).
    package static func kMeans(_ x: [Double], dimensions d: Int, count n: Int, k: Int, seed: UInt64, iterations: Int = 20) -> [Int] {
        guard n > 0, k > 0 else { return [] }
        if n > NearestNeighbours.exactLimit { return Clustering.kMeans(x, dimensions: d, count: n, k: k, seed: seed, iterations: iterations) }
        var rng = SplitMix64(seed: seed)
        var centers: [Int] = [Int(rng.next() % UInt64(n))]
        var nearest = [Double](repeating: .infinity, count: n)
        func dist(_ a: Int, _ centroid: [Double], _ c: Int) -> Double {
            var s = 0.0
            for j in 0..<d { let t = x[a * d + j] - centroid[c * d + j]; s += t * t }
            return s
        }
        var centroids = Array(x[(centers[0] * d)..<((centers[0] + 1) * d)])
        while centers.count < min(k, n) {
            let c = centers.count - 1
            let next = Clustering.nextCentre(&nearest, chosen: centers.count, rng: &rng) { dist($0, centroids, c) }
            centers.append(next)
            centroids += x[(next * d)..<((next + 1) * d)]
        }
        let kk = centers.count
        var assignment = [Int](repeating: 0, count: n)
        for _ in 0..<iterations {
            var changed = false
            for i in 0..<n {
                var best = 0, bestD = Double.infinity
                for c in 0..<kk { let v = dist(i, centroids, c); if v < bestD { bestD = v; best = c } }
                if assignment[i] != best { assignment[i] = best; changed = true }
            }
            var sums = [Double](repeating: 0, count: kk * d), counts = [Int](repeating: 0, count: kk)
            for i in 0..<n { counts[assignment[i]] += 1; for j in 0..<d { sums[assignment[i] * d + j] += x[i * d + j] } }
            for c in 0..<kk where counts[c] > 0 { for j in 0..<d { centroids[c * d + j] = sums[c * d + j] / Double(counts[c]) } }
            if !changed { break }
        }
        return assignment
    }

    /// The 4 × budget lowest margins, clustered by k-means (k = budget) on their embeddings; then round-robin
    /// over the clusters, smallest first, lowest margin first within each.
    static func clusterMargin(pool: Pool, candidates: [Int], budget: Int, seed: UInt64) -> [Pick] {
        let scores = uncertainty(.margin, pool: pool, rows: candidates)
        let shortlist = top(min(candidates.count, 4 * budget), of: candidates, scores: scores)
        let d = pool.dimensions
        let x = shortlist.flatMap { pool.embeddings![(candidates[$0] * d)..<((candidates[$0] + 1) * d)] }
        let clusters = kMeans(x, dimensions: d, count: shortlist.count, k: budget, seed: seed)
        var members: [Int: [Int]] = [:]
        for (i, c) in clusters.enumerated() { members[c, default: []].append(shortlist[i]) }  // margin order kept
        var queues = members.sorted { ($0.value.count, $0.key) < ($1.value.count, $1.key) }.map { ($0.key, $0.value) }
        var picks: [Pick] = []
        var round = 0
        while picks.count < budget && !queues.isEmpty {
            for q in queues.indices where round < queues[q].1.count && picks.count < budget {
                let position = queues[q].1[round]
                picks.append(Pick(row: candidates[position], score: -scores[position], reason: "margin \(fmt(-scores[position])), cluster \(queues[q].0)"))
            }
            round += 1
            queues.removeAll { round >= $0.1.count }
        }
        return picks
    }

    /// The budget split over predicted classes as evenly as the pool allows (counts within 1), lowest margins
    /// first within each class.
    static func classBalanced(pool: Pool, candidates: [Int], budget: Int) -> [Pick] {
        let k = pool.classes
        let scores = uncertainty(.margin, pool: pool, rows: candidates)
        var byClass = [[Int]](repeating: [], count: k)
        for (i, row) in candidates.enumerated() {
            var best = 0
            for j in 1..<k where pool.p(row, j) > pool.p(row, best) { best = j }
            byClass[best].append(i)
        }
        for c in 0..<k { byClass[c] = top(byClass[c].count, of: byClass[c].map { candidates[$0] }, scores: byClass[c].map { scores[$0] }).map { byClass[c][$0] } }
        var picks: [Pick] = []
        var round = 0
        while picks.count < budget {
            var any = false
            for c in 0..<k where round < byClass[c].count && picks.count < budget {
                let i = byClass[c][round]
                picks.append(Pick(row: candidates[i], score: -scores[i], reason: "predicted class \(c), margin \(fmt(-scores[i]))"))
                any = true
            }
            if !any { break }
            round += 1
        }
        return picks
    }
}

func fmt(_ v: Double) -> String { String(format: "%.3g", v) }
