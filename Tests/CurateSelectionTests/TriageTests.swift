import CurateCore
import CurateQuality
@testable import CurateSelection
import Foundation
import Testing

/// Triage beyond the exact limit: k-means in single precision, k estimated on a sample, neighbours from the
/// inverted-file index — checked against the exact paths on the same seeded data.
@Suite struct TriageTests {
    /// `clusters` Gaussian clusters in `d` dimensions (centres `spread` standard deviations apart), then
    /// `duplicates` near copies (0.1% noise) of earlier rows and `outliers` rows far from every cluster.
    static func data(count n: Int, dimensions d: Int = 16, clusters: Int = 6, spread: Double = 3, duplicates: Int = 40, outliers: Int = 10, seed: UInt64 = 3) -> [Double] {
        var rng = SplitMix64(seed: seed)
        func gaussian() -> Double {
            let u = max(Double(rng.next() >> 11) * 0x1p-53, 1e-300), v = Double(rng.next() >> 11) * 0x1p-53
            return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
        }
        let centres = (0..<(clusters * d)).map { _ in spread * gaussian() }
        var x = [Double](repeating: 0, count: n * d)
        let plain = n - duplicates - outliers
        for i in 0..<n {
            if i < plain {
                let c = i % clusters
                for j in 0..<d { x[i * d + j] = centres[c * d + j] + gaussian() }
            } else if i < plain + duplicates {
                let source = Int(rng.next() % UInt64(plain))
                for j in 0..<d { x[i * d + j] = x[source * d + j] * (1 + 0.001 * gaussian()) }
            } else {
                for j in 0..<d { x[i * d + j] = 60 * gaussian() }
            }
        }
        return x
    }

    @Test func singlePrecisionKMeansMatchesDoublePrecision() {
        let (n, d) = (3000, 16)
        let x = Self.data(count: n, dimensions: d, spread: 12, duplicates: 0, outliers: 0)
        let double = Selector.kMeans(x, dimensions: d, count: n, k: 6, seed: 4)
        let single = Clustering.kMeans(x, dimensions: d, count: n, k: 6, seed: 4)
        #expect(single == double)
        #expect(Set(single).count == 6)
    }

    @Test func approximateTriageFindsWhatTheExactOneFinds() {
        let (n, d) = (3000, 16)
        let x = Self.data(count: n, dimensions: d)
        let exact = Triage(features: x, dimensions: d, count: n, k: 6, seed: 1)
        let approximate = Triage(features: x, dimensions: d, count: n, k: 6, seed: 1, exactUpTo: 0)
        #expect(exact.exact && !approximate.exact)
        #expect(approximate.clusters == exact.clusters)
        // The planted copies are redundant in both, with the same earlier rows.
        let planted = Set((n - 50)..<(n - 10))
        #expect(planted.isSubset(of: Set(exact.redundant.map(\.row))))
        #expect(exact.redundant.count < 60, "\(exact.redundant.count) redundant")
        let found = Set(approximate.redundant.map { [$0.row, $0.of] }), truth = Set(exact.redundant.map { [$0.row, $0.of] })
        #expect(found == truth, "\(found.symmetricDifference(truth).count) pairs differ")
        #expect(Set((n - 10)..<n).isSubset(of: Set(exact.outOfDistribution)))
        #expect(approximate.outOfDistribution == exact.outOfDistribution)
    }

    @Test func kIsEstimatedOnASampleAboveTheExactLimit() {
        let (n, d) = (8000, 16)
        let x = Self.data(count: n, dimensions: d, clusters: 5, spread: 12, duplicates: 0, outliers: 0)
        let triage = Triage(features: x, dimensions: d, count: n, seed: 2, exactUpTo: 5000)
        #expect(!triage.exact)
        #expect(triage.k == 5, "silhouettes \(triage.silhouettes)")
        #expect(triage.silhouettes.count == 19)
        // Clusters are whole: rows generated from the same centre share a cluster.
        for c in 0..<5 { #expect(Set(stride(from: c, to: n, by: 5).map { triage.clusters[$0] }).count == 1) }
    }
}
