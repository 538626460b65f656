import CCurateSearch
@testable import CurateQuality
import CurateCore
import Foundation
import Testing

@Suite struct NearestNeighboursTests {
    /// Seeded embeddings: `clusters` Gaussian centres in 128 dimensions, members scattered around them, and 300
    /// planted near duplicates (a member with 1% noise), as embeddings of a real pool look.
    static func embeddings(count n: Int, dimensions d: Int = 128, clusters: Int = 2000, seed: UInt64 = 5) -> [Double] {
        var rng = SplitMix64(seed: seed)
        func gaussian() -> Double {
            let u = max(Double(rng.next() >> 11) * 0x1p-53, 1e-300), v = Double(rng.next() >> 11) * 0x1p-53
            return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
        }
        let centres = (0..<(clusters * d)).map { _ in gaussian() }
        var x = [Double](repeating: 0, count: n * d)
        for i in 0..<n {
            if i >= n - 300 {
                let source = Int(rng.next() % UInt64(n - 300))
                for j in 0..<d { x[i * d + j] = x[source * d + j] * (1 + 0.01 * gaussian()) }
                continue
            }
            let c = Int(rng.next() % UInt64(clusters))
            for j in 0..<d { x[i * d + j] = centres[c * d + j] + 0.7 * gaussian() }
        }
        return x
    }

    /// The inverted-file index against exact search on 100,000 × 128: recall of the 5 nearest neighbours on 300
    /// seeded queries, and of the near-duplicate pairs.
    @Test func approximateSearchRecallsTheExactNeighbours() {
        let (n, d, k) = (100_000, 128, 5)
        let values = Self.embeddings(count: n)
        let graph = NearestNeighbours.graph(values, dimensions: d, k: k, minCosine: 0.98)
        #expect(!graph.exact)
        var unit = values.map(Float.init)
        NearestNeighbours.normalise(&unit, dimensions: d)
        // Exact neighbours of the queries, by the same dot products over every item.
        var rng = SplitMix64(seed: 9)
        let queries = (0..<300).map { _ in Int32(rng.next() % UInt64(n)) }
        var q = [Float](), dots = [Float](repeating: 0, count: queries.count * n)
        for row in queries { q += unit[(Int(row) * d)..<((Int(row) + 1) * d)] }
        cs_dots(q, queries.count, unit, n, d, &dots)
        var sims = [Float](repeating: -.infinity, count: queries.count * k), ids = [Int32](repeating: -1, count: queries.count * k)
        var a = [Int32](repeating: 0, count: 1), b = a, s = [Float](repeating: 0, count: 1)
        _ = cs_offer(dots, queries.count, n, Array(0..<Int32(n)), queries, Array(0..<Int32(queries.count)), k, &sims, &ids, .infinity, &a, &b, &s, 0)
        var hits = 0
        for (t, row) in queries.enumerated() {
            let truth = Set(ids[(t * k)..<((t + 1) * k)]), found = Set(graph.neighbours[(Int(row) * k)..<((Int(row) + 1) * k)])
            hits += truth.intersection(found).count
        }
        let recall = Double(hits) / Double(queries.count * k)
        #expect(recall >= 0.95, "recall@5 \(recall)")
        // Every planted near duplicate is found (each is at cosine ≥ 0.99 of its source).
        let pairs = Set(graph.pairs.map { [$0.0, $0.1] })
        let planted = (n - 300)..<n
        let foundPlanted = planted.filter { i in pairs.contains { $0[1] == i || $0[0] == i } }.count
        #expect(Double(foundPlanted) / 300 >= 0.95, "\(foundPlanted) of 300 planted duplicates")
        #expect(graph.pairs.allSatisfy { $0.0 < $0.1 && $0.2 >= 0.98 })
    }

    /// Small sets are searched exactly, in double precision: the same pairs and neighbours as comparing all pairs.
    @Test func smallSetsAreExact() {
        let (n, d) = (1200, 16)
        let values = Self.embeddings(count: n, dimensions: d, clusters: 40)
        let graph = NearestNeighbours.graph(values, dimensions: d, k: 5, minCosine: 0.98)
        #expect(graph.exact)
        let unit = Duplicates.normalised(values, dimensions: d)
        func dot(_ i: Int, _ j: Int) -> Double { var s = 0.0; for c in 0..<d { s += unit[i * d + c] * unit[j * d + c] }; return s }
        var expected: [[Int]] = []
        for i in 0..<n { for j in (i + 1)..<n where dot(i, j) >= 0.98 { expected.append([i, j]) } }
        #expect(graph.pairs.map { [$0.0, $0.1] } == expected)
        #expect(!expected.isEmpty)
        for i in stride(from: 0, to: n, by: 97) {
            let truth = (0..<n).filter { $0 != i }.sorted { (dot(i, $0), -$0) > (dot(i, $1), -$1) }.prefix(5).map(Int32.init)
            #expect(Array(graph.neighbours[(i * 5)..<(i * 5 + 5)]) == truth)
        }
        // The same search forced through the index finds the planted pairs too.
        let approximate = NearestNeighbours.graph(values, dimensions: d, k: 5, minCosine: 0.98, exactUpTo: 0)
        #expect(!approximate.exact)
        #expect(Set(approximate.pairs.map { [$0.0, $0.1] }).isSuperset(of: expected.filter { $0[1] >= n - 300 }))
    }
}

@Suite struct EuclideanNeighboursTests {
    /// The inverted-file index ranked by x·y − ‖y‖²/2 against exact Euclidean search on 20,000 × 32: recall of the
    /// 5 nearest on 200 seeded queries, and distances that are the exact ones, nearest first.
    @Test func approximateSearchRecallsTheExactNeighbours() {
        let (n, d, k) = (20_000, 32, 5)
        let x: [Double] = NearestNeighboursTests.embeddings(count: n, dimensions: d, clusters: 400).map { $0 + 3 }  // off-centre: the centring matters
        let (neighbours, distances) = NearestNeighbours.euclidean(x, dimensions: d, k: k, exactUpTo: 0)
        func distance(_ i: Int, _ j: Int) -> Double {
            var s = 0.0
            for t in 0..<d { let v = x[i * d + t] - x[j * d + t]; s += v * v }
            return s.squareRoot()
        }
        var rng = SplitMix64(seed: 12)
        var hits = 0
        for _ in 0..<200 {
            let i = Int(rng.next() % UInt64(n))
            let truth = (0..<n).filter { $0 != i }.map { (distance(i, $0), $0) }.sorted { $0 < $1 }.prefix(k).map(\.1)
            let found = neighbours[(i * k)..<((i + 1) * k)].map(Int.init)
            hits += Set(truth).intersection(found).count
            for c in 0..<k where found[c] >= 0 {
                #expect(distances[i * k + c] == distance(i, found[c]))
                if c > 0 { #expect(distances[i * k + c - 1] <= distances[i * k + c]) }
            }
        }
        let recall = Double(hits) / Double(200 * k)
        #expect(recall >= 0.95, "recall@5 \(recall)")
    }

    /// Below the exact limit, every pair in double precision.
    @Test func exactSearchIsEveryPair() {
        let x: [Double] = [0, 0, 1, 0, 0, 2, 5, 5]
        let (neighbours, distances) = NearestNeighbours.euclidean(x, dimensions: 2, k: 2)
        #expect(neighbours == [1, 2, 0, 2, 0, 1, 2, 1])
        #expect(distances[0] == 1 && distances[1] == 2 && distances[2] == 1 && distances[3] == 5.0.squareRoot())
        #expect(distances[6] == 34.0.squareRoot() && distances[7] == 41.0.squareRoot())
    }
}
