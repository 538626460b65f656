import CurateCore
import Foundation

/// Groups items for review: k-means clusters (k chosen, or estimated by the silhouette), redundant items (nearly
/// the same as an earlier item of their cluster: cosine ≥ `redundancy`), and out-of-distribution items (mean
/// Euclidean distance to the 5 nearest neighbours over 3 standard deviations above the mean).
package struct Triage: Sendable {
    package var clusters: [Int]
    package var k: Int
    /// Rows that repeat an earlier row of their cluster, with that row.
    package var redundant: [(row: Int, of: Int)]
    package var outOfDistribution: [Int]
    /// The silhouette of each k tried, when k was estimated.
    package var silhouettes: [(k: Int, score: Double)]

    package init(features x: [Double], dimensions d: Int, count n: Int, k chosen: Int? = nil, redundancy: Double = 0.99, seed: UInt64 = 0) {
        var silhouettes: [(Int, Double)] = []
        let k: Int
        if let chosen {
            k = max(1, min(chosen, n))
        } else {
            // The k in 2…min(20, √n) whose clustering has the best mean silhouette on a sample of up to 600 rows.
            var rng = SplitMix64(seed: seed ^ 0x51)
            var sample = Array(0..<n)
            for i in 0..<min(600, n) { sample.swapAt(i, i + Int(rng.next() % UInt64(n - i))) }
            sample = Array(sample.prefix(600))
            var best = (k: 1, score: -2.0)
            for candidate in 2...max(2, min(20, Int(Double(n).squareRoot()))) where candidate < n {
                let assignment = Selector.kMeans(x, dimensions: d, count: n, k: candidate, seed: seed)
                let score = Self.silhouette(x, d, assignment, sample)
                silhouettes.append((candidate, score))
                if score > best.score { best = (candidate, score) }
            }
            k = best.k
        }
        clusters = Selector.kMeans(x, dimensions: d, count: n, k: k, seed: seed)
        self.k = Set(clusters).count
        self.silhouettes = silhouettes
        // Redundancy within clusters, by cosine similarity.
        var norms = [Double](repeating: 0, count: n)
        for i in 0..<n { for j in 0..<d { norms[i] += x[i * d + j] * x[i * d + j] }; norms[i] = norms[i].squareRoot() }
        var members: [Int: [Int]] = [:]
        for (i, c) in clusters.enumerated() { members[c, default: []].append(i) }
        var redundant: [(Int, Int)] = []
        for (_, rows) in members.sorted(by: { $0.key < $1.key }) {
            var kept: [Int] = []
            for i in rows {
                var twin: Int?
                for j in kept where norms[i] > 0 && norms[j] > 0 {
                    var dot = 0.0
                    for t in 0..<d { dot += x[i * d + t] * x[j * d + t] }
                    if dot / (norms[i] * norms[j]) >= redundancy { twin = j; break }
                }
                if let twin { redundant.append((i, twin)) } else { kept.append(i) }
            }
        }
        self.redundant = redundant.sorted { $0.0 < $1.0 }
        // k-NN distance outliers (exact, all pairs).
        let knn = 5
        var scores = [Double](repeating: 0, count: n)
        if n > knn {
            for i in 0..<n {
                var nearest = [Double](repeating: .infinity, count: knn)
                for j in 0..<n where j != i {
                    var s = 0.0
                    for t in 0..<d { let v = x[i * d + t] - x[j * d + t]; s += v * v }
                    if s < nearest[knn - 1] {
                        nearest[knn - 1] = s
                        nearest.sort()
                    }
                }
                scores[i] = nearest.map { $0.squareRoot() }.reduce(0, +) / Double(knn)
            }
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
