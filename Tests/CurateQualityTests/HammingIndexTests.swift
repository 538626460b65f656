@testable import CurateQuality
import CurateCore
import Testing

@Suite struct HammingIndexTests {
    /// 50,000 hashes: 20,000 random, and 30,000 in clusters (each a random hash with 0 to 12 bits flipped), so
    /// pairs fall at every distance around the radius.
    static let hashes: [UInt64] = {
        var rng = SplitMix64(seed: 11)
        var hashes = (0..<20_000).map { _ in rng.next() }
        var base = rng.next()
        for i in 0..<30_000 {
            if i % 6 == 0 { base = rng.next() }
            var h = base
            for _ in 0..<Int(rng.next() % 13) { h ^= 1 << (rng.next() % 64) }
            hashes.append(h)
        }
        // Shuffled, so clusters are not contiguous.
        for i in hashes.indices.dropLast() { hashes.swapAt(i, i + Int(rng.next() % UInt64(hashes.count - i))) }
        return hashes
    }()

    /// Multi-index hashing finds exactly the pairs all-pairs comparison finds, in the same order.
    @Test func findsExactlyThePairsAllPairsFinds() {
        let expected = Duplicates.allPairs(Self.hashes, maxDistance: 6)
        #expect(expected.count > 15_000)
        let found = HammingIndex(Self.hashes).pairs(within: 6)
        #expect(found.count == expected.count)
        #expect(zip(found, expected).allSatisfy { $0 == $1 })
        // Through the entry point validate uses.
        #expect(Duplicates.nearPairs(Self.hashes, maxDistance: 6).count == expected.count)
    }

    @Test(arguments: [0, 3, 4, 9, 13])
    func everyRadiusOnASample(radius: Int) {
        let sample = Array(Self.hashes.prefix(8000))
        let expected = Duplicates.allPairs(sample, maxDistance: radius)
        let found = HammingIndex(sample).pairs(within: radius)
        #expect(found.count == expected.count)
        #expect(zip(found, expected).allSatisfy { $0 == $1 })
    }

    @Test func smallAndDegenerateInputs() {
        #expect(HammingIndex([]).pairs(within: 6).isEmpty)
        #expect(HammingIndex([7]).pairs(within: 6).isEmpty)
        #expect(HammingIndex([7, 7, 7]).pairs(within: 0).map { [$0.0, $0.1, $0.2] } == [[0, 1, 0], [0, 2, 0], [1, 2, 0]])
        #expect(HammingIndex([0, 1]).pairs(within: -1).isEmpty)
    }
}
