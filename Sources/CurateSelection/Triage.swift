import CurateCore
import CurateQuality
import Foundation

/// Groups items for review: k-means clusters (k chosen, or estimated by the silhouette), redundant items (nearly
/// the same as an earlier item of their cluster: cosine ≥ `redundancy`), and out-of-distribution items (mean
/// Euclidean distance to the 5 nearest neighbours over 3 standard deviations above the mean).
///
/// Nothing compares all pairs above `exactUpTo` items: k is estimated on a seeded sample of 10,000, k-means runs in
/// single precision, and the neighbours come from the inverted-file index of ``NearestNeighbours`` (cosine for
/// redundancy, Euclidean for the outliers). Up to `exactUpTo`, every pair is compared in double precision.
package struct Triage: Sendable {
    package var clusters: [Int]
    package var k: Int
    /// Rows that repeat an earlier row of their cluster, with that row.
    package var redundant: [(row: Int, of: Int)]
    package var outOfDistribution: [Int]
    /// The silhouette of each k tried, when k was estimated.
    package var silhouettes: [(k: Int, score: Double)]
    /// Whether neighbours were searched exactly (else by the approximate index) and k estimated on every row.
    package var exact: Bool

    package init(features x: [Double], dimensions d: Int, count n: Int, k chosen: Int? = nil, redundancy: Double = 0.99, seed: UInt64 = 0,
                 exactUpTo: Int = NearestNeighbours.exactLimit) {
        exact = n <= exactUpTo
        var silhouettes: [(Int, Double)] = []
        let k: Int
        if let chosen {
            k = max(1, min(chosen, n))
        } else {
            // The k in 2…min(20, √n) whose clustering has the best mean silhouette on a sample of up to 600 rows
            // (clustering every row, or above `exactUpTo` a sample of 10,000 that the 600 are drawn from).
            var rng = SplitMix64(seed: seed ^ 0x51)
            var sample = Array(0..<n)
            let drawn = exact ? min(600, n) : min(10_000, n)
            for i in 0..<drawn { sample.swapAt(i, i + Int(rng.next() % UInt64(n - i))) }
            sample = Array(sample.prefix(drawn))
            let (rows, count, scored): ([Double], Int, [Int]) = exact
                ? (x, n, sample)
                : (sample.flatMap { x[($0 * d)..<(($0 + 1) * d)] }, drawn, Array(0..<min(600, drawn)))
            var best = (k: 1, score: -2.0)
            for candidate in 2...max(2, min(20, Int(Double(n).squareRoot()))) where candidate < count {
                let assignment = Selector.kMeans(rows, dimensions: d, count: count, k: candidate, seed: seed)
                let score = Self.silhouette(rows, d, assignment, scored)
                silhouettes.append((candidate, score))
                if score > best.score { best = (candidate, score) }
            }
            k = best.k
        }
        let clusters = Selector.kMeans(x, dimensions: d, count: n, k: k, seed: seed)
        self.clusters = clusters
        self.k = Set(clusters).count
        self.silhouettes = silhouettes
        // Redundancy: in row order, a row with a pair at least `redundancy` alike to a kept earlier row of its
        // cluster repeats the first such row; the others are kept.
        let graph = NearestNeighbours.graph(x, dimensions: d, k: 0, minCosine: redundancy, seed: seed, exactUpTo: exactUpTo)
        let links = graph.pairs.filter { clusters[$0.0] == clusters[$0.1] }.sorted { ($0.1, $0.0) < ($1.1, $1.0) }
        var kept = [Bool](repeating: true, count: n)
        var redundant: [(Int, Int)] = []
        var t = 0
        while t < links.count {
            let row = links[t].1
            var twin: Int?
            while t < links.count && links[t].1 == row {
                if twin == nil && kept[links[t].0] { twin = links[t].0 }
                t += 1
            }
            if let twin { kept[row] = false; redundant.append((row, twin)) }
        }
        self.redundant = redundant
        // Out of distribution: the mean distance to the 5 nearest neighbours.
        let knn = 5
        var scores = [Double](repeating: 0, count: n)
        if n > knn {
            let (_, distances) = NearestNeighbours.euclidean(x, dimensions: d, k: knn, seed: seed, exactUpTo: exactUpTo)
            for i in 0..<n { scores[i] = distances[(i * knn)..<((i + 1) * knn)].reduce(0, +) / Double(knn) }
        }
        let mean = scores.reduce(0, +) / Double(max(n, 1))
        let std = (scores.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(max(n, 1))).squareRoot()
        outOfDistribution = (0..<n).filter { std > 0 && scores[$0] > mean + 3 * std }
    }

    /// Mean silhouette of `rows` (a ± 1 score of how much closer each row is to its own cluster than to the next).
    static func silhouette(_ x: [Double], _ d: Int, _ assignment: [Int], _ rows: [Int]) -> Double {
        var total = 0.0
        for i in rows {
            var sums: [Int: (Double, Int)] = [:]
            for j in rows where j != i {
                var s = 0.0
                for t in 0..<d { let v = x[i * d + t] - x[j * d + t]; s += v * v }
                let entry = sums[assignment[j], default: (0, 0)]
                sums[assignment[j]] = (entry.0 + s.squareRoot(), entry.1 + 1)
            }
            guard let own = sums[assignment[i]], own.1 > 0 else { continue }
            let a = own.0 / Double(own.1)
            let b = sums.filter { $0.key != assignment[i] && $0.value.1 > 0 }.map { $0.value.0 / Double($0.value.1) }.min() ?? a
            total += max(a, b) > 0 ? (b - a) / max(a, b) : 0
        }
        return total / Double(max(rows.count, 1))
    }

    /// The tag names triage owns (a new run replaces them).
    package static let tagPrefixes = ["cluster-", "redundant", "ood"]

    /// Tags per item row: `cluster-N`, `redundant`, `ood`.
    package func tags() -> [String: [Int]] {
        var result: [String: [Int]] = [:]
        for (i, c) in clusters.enumerated() { result["cluster-\(c)", default: []].append(i) }
        if !redundant.isEmpty { result["redundant"] = redundant.map(\.row) }
        if !outOfDistribution.isEmpty { result["ood"] = outOfDistribution }
        return result
    }
}
