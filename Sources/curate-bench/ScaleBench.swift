import ArgumentParser
import CurateCommands
import CurateCore
import CurateQuality
import CurateSelection
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

        @Argument(help: "near-duplicates, neighbours or triage")
        var task: String

        @Option(help: "neighbours: the embeddings (.npy, N × D float32).")
        var embeddings: String?

        @Option(help: "neighbours: write each item's 5 nearest neighbours here (.npy, N × 5 int32).")
        var neighboursOut: String?

        @Option(help: "neighbours: lists probed per item (the default is validate's).")
        var probes: Int?

        @Option(help: "Items.")
        var count: Int = 1_000_000

        @Option(help: "Hamming radius.")
        var radius: Int = 6

        @Option(help: "Hashes compared all-pairs, for agreement and the extrapolated all-pairs time.")
        var exactSample: Int = 50_000

        func run() async throws {
            if task == "neighbours" { return try neighbours() }
            if task == "triage" { return try triage() }
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
            let extrapolated = seconds(exactWall) * pow(Double(count) / Double(sample.count), 2)
            let summary: [String: Any] = ["task": task, "count": count, "radius": radius, "pairs": pairs.count, "seconds": seconds(wall), "cpu_seconds": cpuUsed,
                                          "exact_sample": sample.count, "exact_sample_seconds": seconds(exactWall), "all_pairs_seconds_extrapolated": extrapolated,
                                          "agrees_with_all_pairs_on_sample": agree]
            try printJSON(summary)
        }
    
        /// Triage of the embeddings as `curate triage --embeddings` runs it (k estimated, redundancy 0.99, the
        /// 5-NN outlier score); loading is not timed.
        func triage() throws {
            guard let embeddings else { throw ValidationError("triage needs --embeddings") }
            let array = try NumpyArray(contentsOf: embeddings)
            let d = array.shape[1]
            let cpu = cpuSeconds()
            let start = ContinuousClock.now
            let result = Triage(features: array.values, dimensions: d, count: array.shape[0])
            let wall = ContinuousClock.now - start
            let used = cpuSeconds() - cpu
            let summary: [String: Any] = ["task": task, "count": result.clusters.count, "exact": result.exact, "k": result.k, "redundant": result.redundant.count,
                                          "ood": result.outOfDistribution.count, "silhouettes": result.silhouettes.map { [$0.k, $0.score] },
                                          "seconds": seconds(wall), "cpu_seconds": used]
            try printJSON(summary)
        }

        /// k-NN graph (k = 5) and near-duplicate pairs (cosine ≥ 0.98) of the embeddings, and the outliers, as
        /// validate --embeddings computes them; loading is not timed.
        func neighbours() throws {
            guard let embeddings else { throw ValidationError("neighbours needs --embeddings") }
            let array = try NumpyArray(contentsOf: embeddings)
            let d = array.shape[1]
            let cpu = cpuSeconds()
            let start = ContinuousClock.now
            let graph = probes.map { NearestNeighbours.graph(array.values, dimensions: d, k: 5, minCosine: 0.98, probes: $0) }
                ?? NearestNeighbours.graph(array.values, dimensions: d, k: 5, minCosine: 0.98)
            let (_, outliers) = Duplicates.outliers(graph)
            let wall = ContinuousClock.now - start
            let used = cpuSeconds() - cpu
            if let neighboursOut {
                var header = "{'descr': '<i4', 'fortran_order': False, 'shape': (\(graph.count), 5), }"
                while (header.utf8.count + 11) % 64 != 0 { header += " " }
                var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
                let length = UInt16(header.utf8.count + 1)
                data += Data([UInt8(length & 0xFF), UInt8(length >> 8)]) + Data((header + "\n").utf8)
                data += graph.neighbours.withUnsafeBytes { Data($0) }
                try data.write(to: URL(fileURLWithPath: neighboursOut))
            }
            let summary: [String: Any] = ["task": task, "count": graph.count, "exact": graph.exact, "pairs": graph.pairs.count, "outliers": outliers.count,
                                          "seconds": seconds(wall), "cpu_seconds": used]
            try printJSON(summary)
        }

        func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

        /// One line of JSON, keys sorted (what run.sh and the peers' scripts read).
        func printJSON(_ summary: [String: Any]) throws {
            print(String(decoding: try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys]), as: UTF8.self))
        }
    }
}
