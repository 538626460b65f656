import ArgumentParser
import CurateCommands
import CurateCore
import CurateQuality
import Foundation

extension Bench {
    struct ScaleBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "scale",
            abstract: "Time the algorithms that must stay fast at a million items (benchmarks/scale/run.sh).",
            discussion: """
                near-duplicates: COUNT seeded 64-bit hashes (40% random, 60% in clusters of six, each member its \
                cluster's hash with 0 to 12 bits flipped), pairs within --radius bits by multi-index hashing; \
                also all pairs on the first --exact-sample hashes, to check agreement there and extrapolate the \
                all-pairs time (it grows with the square of the count).
                """)

        @Argument(help: "near-duplicates")
        var task: String

        @Option(help: "Items.")
        var count: Int = 1_000_000

        @Option(help: "Hamming radius.")
        var radius: Int = 6

        @Option(help: "Hashes compared all-pairs, for agreement and the extrapolated all-pairs time.")
        var exactSample: Int = 50_000

        func run() async throws {
            guard task == "near-duplicates" else { throw ValidationError("unknown task \(task)") }
            var rng = SplitMix64(seed: 11)
            var hashes: [UInt64] = []
            hashes.reserveCapacity(count)
            var base = rng.next()
            for i in 0..<count {
                if i % 10 < 4 { hashes.append(rng.next()); continue }
                if i % 6 == 0 { base = rng.next() }
                var h = base
                for _ in 0..<Int(rng.next() % 13) { h ^= 1 << (rng.next() % 64) }
                hashes.append(h)
            }
            let clock = ContinuousClock()
            let cpu = cpuSeconds()
            let start = clock.now
            let pairs = Duplicates.nearPairs(hashes, maxDistance: radius)
            let wall = clock.now - start
            let cpuUsed = cpuSeconds() - cpu
            let sample = Array(hashes.prefix(exactSample))
            let exactStart = clock.now
            let exact = Duplicates.allPairs(sample, maxDistance: radius)
            let exactWall = clock.now - exactStart
            let indexed = HammingIndex(sample).pairs(within: radius)
            let agree = indexed.count == exact.count && zip(indexed, exact).allSatisfy { $0 == $1 }
            func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
            let extrapolated = seconds(exactWall) * pow(Double(count) / Double(sample.count), 2)
            let summary: [String: Any] = ["task": task, "count": count, "radius": radius, "pairs": pairs.count, "seconds": seconds(wall), "cpu_seconds": cpuUsed,
                                          "exact_sample": sample.count, "exact_sample_seconds": seconds(exactWall), "all_pairs_seconds_extrapolated": extrapolated,
                                          "agrees_with_all_pairs_on_sample": agree]
            print(String(decoding: try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys]), as: UTF8.self))
        }
    }
}
