import CurateCore
import CurateImaging
import Foundation

/// Exact and near duplicates, and outliers.
///
/// Exact: the same content hash. Near: perceptual hashes within `maxDistance` bits (Hamming), or embeddings with
/// cosine similarity at least `minCosine`. A duplicate pair whose given classes differ is also reported as
/// conflicting. Outliers: the mean cosine distance to the `k` nearest neighbours in embedding space, flagged when
/// more than 3 standard deviations above the mean of that score.
package enum Duplicates {
    /// imagehash's `phash`: grey, area-resized to 32 × 32, 2-D DCT-II, the 8 × 8 lowest frequencies compared with
    /// their median, one bit each.
    package static func perceptualHash(_ image: PixelBuffer) -> UInt64 {
        let grey = image.converted(to: .gray8)
        let small = grey.resized(width: 32, height: 32)
        let pixels = small.bytes.map(Double.init)
        // DCT-II along rows then columns, only the first 8 coefficients of each.
        let cosines = (0..<8).map { u in (0..<32).map { x in cos(Double.pi * Double(u) * (2 * Double(x) + 1) / 64) } }
        var rows = [Double](repeating: 0, count: 32 * 8)
        for y in 0..<32 { for u in 0..<8 { var s = 0.0; for x in 0..<32 { s += pixels[y * 32 + x] * cosines[u][x] }; rows[y * 8 + u] = s } }
        var low = [Double](repeating: 0, count: 64)
        for v in 0..<8 { for u in 0..<8 { var s = 0.0; for y in 0..<32 { s += rows[y * 8 + u] * cosines[v][y] }; low[v * 8 + u] = s } }
        let sorted = low.sorted()
        let median = (sorted[31] + sorted[32]) / 2
        var hash: UInt64 = 0
        for (i, value) in low.enumerated() where value > median { hash |= 1 << UInt64(i) }
        return hash
    }

    /// Pairs of items (by index) whose hashes differ in at most `maxDistance` bits.
    package static func nearPairs(_ hashes: [UInt64], maxDistance: Int) -> [(Int, Int, Int)] {
        // Multi-index hashing probes Σ C(16, k ≤ r/4) buckets per piece: past r = 15 comparing all pairs is cheaper.
        hashes.count > 2048 && maxDistance < 16 ? HammingIndex(hashes).pairs(within: maxDistance) : allPairs(hashes, maxDistance: maxDistance)
    }

    /// Pairs (i < j) within `maxDistance` bits, by comparing every pair.
    package static func allPairs(_ hashes: [UInt64], maxDistance: Int) -> [(Int, Int, Int)] {
        var pairs: [(Int, Int, Int)] = []
        hashes.withUnsafeBufferPointer { h in
            for i in 0..<h.count {
                for j in (i + 1)..<h.count {
                    let d = (h[i] ^ h[j]).nonzeroBitCount
                    if d <= maxDistance { pairs.append((i, j, d)) }
                }
            }
        }
        return pairs
    }

    /// Unit-length rows of an N × D matrix (zero rows stay zero).
    static func normalised(_ embeddings: [Double], dimensions d: Int) -> [Double] {
        var out = embeddings
        for i in 0..<(embeddings.count / d) {
            var norm = 0.0
            for k in 0..<d { norm += out[i * d + k] * out[i * d + k] }
            norm = norm.squareRoot()
            if norm > 0 { for k in 0..<d { out[i * d + k] /= norm } }
        }
        return out
    }

    /// Per item: the mean cosine distance to its nearest neighbours in `graph`, and which items are outliers (over
    /// 3 standard deviations above the mean score).
    package static func outliers(_ graph: NeighbourGraph) -> (scores: [Double], outliers: [Int]) {
        let n = graph.count, k = graph.k
        guard n > k else { return ([Double](repeating: 0, count: n), []) }
        let scores = (0..<n).map { i -> Double in
            var sum = 0.0, found = 0
            for c in 0..<k where graph.neighbours[i * k + c] >= 0 { sum += 1 - graph.similarities[i * k + c]; found += 1 }
            return found > 0 ? sum / Double(found) : 0
        }
        let mean = scores.reduce(0, +) / Double(n)
        let std = (scores.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n)).squareRoot()
        return (scores, (0..<n).filter { std > 0 && scores[$0] > mean + 3 * std })
    }
}
