import CCurateSearch
import CurateCore
import Foundation

/// Every item's nearest neighbours by cosine similarity, and the pairs at least `minCosine` alike: what
/// `validate --embeddings` needs for near duplicates and k-NN outliers.
package struct NeighbourGraph: Sendable {
    package var count: Int
    package var k: Int
    /// Row-major `count` × `k`: each item's neighbours, most similar first (ties to the lower index); -1 where an
    /// item has fewer.
    package var neighbours: [Int32]
    package var similarities: [Double]
    /// Pairs (i < j, similarity), by i then j.
    package var pairs: [(Int, Int, Double)]
    /// Whether every pair was compared (else an inverted-file index answered).
    package var exact: Bool
}

/// Exact search for small sets (every pair, in double precision), an inverted-file index (IVF) above
/// ``exactLimit`` items: a spherical k-means coarse quantiser of √(8N) lists, each item in the list of its nearest
/// centroid, and each item's neighbours searched in the `probes` (8) lists whose centroids are nearest to it. Memory
/// is linear in N; work is about N × (lists + probes × N / lists) dot products instead of N².
package enum NearestNeighbours {
    package static let exactLimit = 5_000

    package static func graph(_ embeddings: [Double], dimensions d: Int, k: Int, minCosine: Double, seed: UInt64 = 0, exactUpTo: Int = exactLimit,
                              probes: Int = 8) -> NeighbourGraph {
        let n = d > 0 ? embeddings.count / d : 0
        if n <= exactUpTo { return exact(Duplicates.normalised(embeddings, dimensions: d), count: n, dimensions: d, k: k, minCosine: minCosine) }
        // Rows padded with zeros to a multiple of 16 floats (what the dot-product kernel takes; zeros add nothing).
        let padded = (d + 15) / 16 * 16
        var unit = [Float](repeating: 0, count: n * padded)
        for i in 0..<n { for j in 0..<d { unit[i * padded + j] = Float(embeddings[i * d + j]) } }
        normalise(&unit, dimensions: padded)
        return IVF(routing: unit, routingDimensions: padded, queries: unit, members: unit, dimensions: padded, count: n, probes: probes, seed: seed)
            .search(k: k, minSimilarity: Float(minCosine), probes: probes)
    }

    /// Each item's `k` nearest neighbours by Euclidean distance, nearest first (ties to the lower index; -1 and
    /// infinity where an item has fewer), with the distances in double precision. Exact up to `exactUpTo` items,
    /// else the lists and probes of the cosine index of the centred rows (a Euclidean quantiser would make hubs:
    /// in high dimension a centroid averaging several clusters is nearer to most items than any cluster's own, and
    /// every item would probe it), with candidates ranked by x·y − ‖y‖²/2 (an extra coordinate holds 1 in the
    /// query and −‖y‖²/2 in the item), which orders them as their distance does; the distances of the neighbours
    /// found are then computed exactly.
    package static func euclidean(_ x: [Double], dimensions d: Int, k: Int, seed: UInt64 = 0, exactUpTo: Int = exactLimit,
                                  probes: Int = 8) -> (neighbours: [Int32], distances: [Double]) {
        let n = d > 0 ? x.count / d : 0
        var neighbours: [Int32], distances = [Double](repeating: .infinity, count: n * k)
        if n <= exactUpTo {
            let graph = exact(x, count: n, dimensions: d, k: k, minCosine: .infinity, euclidean: true)
            neighbours = graph.neighbours
            for t in 0..<(n * k) where neighbours[t] >= 0 { distances[t] = (-graph.similarities[t]).squareRoot() }
            return (neighbours, distances)
        }
        var mean = [Double](repeating: 0, count: d)
        for i in 0..<n { for j in 0..<d { mean[j] += x[i * d + j] } }
        for j in 0..<d { mean[j] /= Double(n) }
        let padded = (d + 1 + 15) / 16 * 16, routed = (d + 15) / 16 * 16
        var queries = [Float](repeating: 0, count: n * padded), members = queries, unit = [Float](repeating: 0, count: n * routed)
        for i in 0..<n {
            var norm: Float = 0
            for j in 0..<d {
                let v = Float(x[i * d + j] - mean[j])
                queries[i * padded + j] = v
                members[i * padded + j] = v
                unit[i * routed + j] = v
                norm += v * v
            }
            queries[i * padded + d] = 1
            members[i * padded + d] = -norm / 2
        }
        normalise(&unit, dimensions: routed)
        neighbours = IVF(routing: unit, routingDimensions: routed, queries: queries, members: members, dimensions: padded, count: n, probes: probes, seed: seed)
            .search(k: k, minSimilarity: .infinity, probes: probes).neighbours
        // Exact distances of the neighbours found, re-ranked by them.
        for i in 0..<n {
            var best = Best(k)
            for c in 0..<k where neighbours[i * k + c] >= 0 {
                let j = Int(neighbours[i * k + c])
                var s = 0.0
                for t in 0..<d { let v = x[i * d + t] - x[j * d + t]; s += v * v }
                best.offer(-s, Int32(j))
            }
            for c in 0..<k {
                neighbours[i * k + c] = best.ids[c]
                if best.ids[c] >= 0 { distances[i * k + c] = (-best.sims[c]).squareRoot() }
            }
        }
        return (neighbours, distances)
    }

    static func normalise(_ x: inout [Float], dimensions d: Int) {
        x.withUnsafeMutableBufferPointer { x in
            for i in 0..<(x.count / d) {
                var norm: Float = 0
                for j in 0..<d { norm += x[i * d + j] * x[i * d + j] }
                norm = norm.squareRoot()
                if norm > 0 { for j in 0..<d { x[i * d + j] /= norm } }
            }
        }
    }

    /// A bounded list of the best (similarity, index): highest similarity first, ties to the lower index.
    struct Best {
        var sims: [Double]
        var ids: [Int32]
        init(_ k: Int) { sims = .init(repeating: -.infinity, count: k); ids = .init(repeating: -1, count: k) }
        @inline(__always) mutating func offer(_ s: Double, _ id: Int32) {
            let k = sims.count
            guard k > 0, s > sims[k - 1] || (s == sims[k - 1] && (ids[k - 1] < 0 || id < ids[k - 1])) else { return }
            var at = k - 1
            while at > 0 && (s > sims[at - 1] || (s == sims[at - 1] && id < ids[at - 1])) {
                sims[at] = sims[at - 1]
                ids[at] = ids[at - 1]
                at -= 1
            }
            sims[at] = s
            ids[at] = id
        }
    }

    /// Every pair, in double precision, row by row on both cores (memory: one row of similarities per worker). The
    /// similarity is the dot product, or with `euclidean` the negated squared distance.
    static func exact(_ x: [Double], count n: Int, dimensions d: Int, k: Int, minCosine: Double, euclidean: Bool = false) -> NeighbourGraph {
        var neighbours = [Int32](repeating: -1, count: n * k), similarities = [Double](repeating: -.infinity, count: n * k)
        let workers = max(1, min(ProcessInfo.activeCores, n / 256 + 1))
        var pairs = [[(Int, Int, Double)]](repeating: [], count: workers)
        x.withUnsafeBufferPointer { x in
            neighbours.withUnsafeMutableBufferPointer { nb in
                similarities.withUnsafeMutableBufferPointer { sb in
                    pairs.withUnsafeMutableBufferPointer { pb in
                        nonisolated(unsafe) let (x, nb, sb, pb) = (x, nb, sb, pb)  // each worker writes its own rows and slot
                        DispatchQueue.concurrentPerform(iterations: workers) { w in
                            var found: [(Int, Int, Double)] = []
                            var row = [Double](repeating: 0, count: n)
                            for i in stride(from: w, to: n, by: workers) {
                                for j in 0..<n {
                                    var dot = 0.0
                                    if euclidean {
                                        for c in 0..<d { let v = x[i * d + c] - x[j * d + c]; dot -= v * v }
                                    } else {
                                        for c in 0..<d { dot += x[i * d + c] * x[j * d + c] }
                                    }
                                    row[j] = dot
                                }
                                var best = Best(k)
                                for j in 0..<n where j != i { best.offer(row[j], Int32(j)) }
                                for j in (i + 1)..<max(n, i + 1) where row[j] >= minCosine { found.append((i, j, row[j])) }
                                for c in 0..<k { nb[i * k + c] = best.ids[c]; sb[i * k + c] = best.sims[c] }
                            }
                            pb[w] = found
                        }
                    }
                }
            }
        }
        return NeighbourGraph(count: n, k: k, neighbours: neighbours, similarities: similarities,
                              pairs: pairs.flatMap { $0 }.sorted { ($0.0, $0.1) < ($1.0, $1.1) }, exact: true)
    }
}

extension ProcessInfo {
    fileprivate static var activeCores: Int { ProcessInfo.processInfo.activeProcessorCount }
}

/// An inverted-file index (see ``NearestNeighbours``): lists from a spherical k-means of unit routing vectors,
/// candidates scored by the dot product of query and member vectors (the same unit vectors for cosine; see
/// ``NearestNeighbours/euclidean(_:dimensions:k:seed:exactUpTo:probes:)`` for distances).
struct IVF {
    let routing: [Float], rd: Int
    let queries: [Float], members: [Float]
    let n: Int, d: Int
    let lists: Int
    var centroids: [Float]

    init(routing: [Float], routingDimensions rd: Int, queries: [Float], members: [Float], dimensions d: Int, count n: Int, probes: Int, seed: UInt64) {
        self.routing = routing
        self.rd = rd
        self.queries = queries
        self.members = members
        self.n = n
        self.d = d
        // √(probes × N) lists balance the two costs: N × lists to place every item, N × probes × N / lists to search.
        lists = max(1, min(4096, Int((Double(probes * n)).squareRoot().rounded()), n))
        // Spherical k-means on a seeded sample of at most 32 rows per list, started from sample rows.
        var rng = SplitMix64(seed: seed ^ 0x1F5)
        var order = Array(0..<n)
        let sampleSize = min(n, max(lists * 32, 10_000))
        for i in 0..<sampleSize { order.swapAt(i, i + Int(rng.next() % UInt64(n - i))) }
        let sample = Array(order.prefix(sampleSize))
        var sampleRows = [Float](repeating: 0, count: sampleSize * rd)
        for (s, row) in sample.enumerated() { for c in 0..<rd { sampleRows[s * rd + c] = routing[row * rd + c] } }
        var centroids = Array(sampleRows.prefix(lists * rd))
        for _ in 0..<8 {
            let (nearest, _) = Self.nearestCentroids(sampleRows, count: sampleSize, centroids: centroids, lists: lists, d: rd, probes: 1)
            var sums = [Float](repeating: 0, count: lists * rd), counts = [Int](repeating: 0, count: lists)
            for s in 0..<sampleSize {
                let c = Int(nearest[s])
                counts[c] += 1
                for j in 0..<rd { sums[c * rd + j] += sampleRows[s * rd + j] }
            }
            for c in 0..<lists where counts[c] == 0 {
                let s = Int(rng.next() % UInt64(sampleSize))
                for j in 0..<rd { sums[c * rd + j] = sampleRows[s * rd + j] }
            }
            NearestNeighbours.normalise(&sums, dimensions: rd)
            centroids = sums
        }
        self.centroids = centroids
    }

    /// For each row, its `probes` most similar centroids (most similar first), in blocks on both cores.
    static func nearestCentroids(_ rows: [Float], count: Int, centroids: [Float], lists: Int, d: Int, probes: Int) -> ([Int32], [Float]) {
        var result = [Int32](repeating: -1, count: count * probes), sims = [Float](repeating: -.infinity, count: count * probes)
        let block = 512
        let blocks = (count + block - 1) / block
        let centroidIDs = (0..<Int32(lists)).map { $0 }
        rows.withUnsafeBufferPointer { rows in
            centroids.withUnsafeBufferPointer { cents in
                result.withUnsafeMutableBufferPointer { out in
                    sims.withUnsafeMutableBufferPointer { outSims in
                        nonisolated(unsafe) let (rows, cents, out, outSims) = (rows, cents, out, outSims)  // blocks write their own rows
                        DispatchQueue.concurrentPerform(iterations: blocks) { b in
                            let low = b * block, high = min(count, low + block)
                            var dots = [Float](repeating: 0, count: (high - low) * lists)
                            dots.withUnsafeMutableBufferPointer { cs_dots(rows.baseAddress! + low * d, high - low, cents.baseAddress!, lists, d, $0.baseAddress!) }
                            let noSelf = [Int32](repeating: -1, count: high - low), slots = (Int32(low)..<Int32(high)).map { $0 }
                            _ = cs_offer(dots, high - low, lists, centroidIDs, noSelf, slots, probes, outSims.baseAddress!, out.baseAddress!, .infinity, nil, nil, nil, 0)
                        }
                    }
                }
            }
        }
        return (result, sims)
    }

    /// Each item's `k` nearest neighbours among the members of its `probes` nearest lists, and the pairs at least
    /// `minSimilarity` alike found there. Lists are searched in turn, each against every item that probes it, with
    /// the workers' results joined in a fixed order: the graph does not depend on the thread count.
    func search(k: Int, minSimilarity: Float, probes requested: Int) -> NeighbourGraph {
        let probes = max(1, min(requested, lists))
        let (probe, _) = Self.nearestCentroids(routing, count: n, centroids: centroids, lists: lists, d: rd, probes: probes)
        // Members of each list (by the nearest centroid), and the items probing each list.
        func csr(_ keys: (Int) -> Int, _ total: Int) -> (starts: [Int], items: [Int32]) {
            var starts = [Int](repeating: 0, count: lists + 1)
            for t in 0..<total { starts[keys(t) + 1] += 1 }
            for c in 0..<lists { starts[c + 1] += starts[c] }
            var fill = starts, items = [Int32](repeating: 0, count: total)
            for t in 0..<total { let c = keys(t); items[fill[c]] = Int32(t); fill[c] += 1 }
            return (starts, items)
        }
        let listed = csr({ Int(probe[$0 * probes]) }, n)
        let probing = csr({ Int(probe[$0]) }, n * probes)  // items[t] = row × probes + p
        let workers = max(1, min(ProcessInfo.activeCores, lists))
        var bestSims = [[Float]](repeating: [], count: workers), bestIDs = [[Int32]](repeating: [], count: workers)
        var pairs = [[(Int, Int, Double)]](repeating: [], count: workers)
        bestSims.withUnsafeMutableBufferPointer { sb in
            bestIDs.withUnsafeMutableBufferPointer { ib in
                pairs.withUnsafeMutableBufferPointer { pb in
                    nonisolated(unsafe) let (sb, ib, pb) = (sb, ib, pb)  // each worker writes its own slot
                    DispatchQueue.concurrentPerform(iterations: workers) { w in
                        var sims = [Float](repeating: -.infinity, count: n * k), ids = [Int32](repeating: -1, count: n * k)
                        var found: [(Int, Int, Double)] = []
                        var rows: [Float] = [], vectors: [Float] = []
                        var pairA = [Int32](repeating: 0, count: 4096), pairB = pairA, pairS = [Float](repeating: 0, count: 4096)
                        for c in stride(from: w, to: lists, by: workers) {
                            let memberIDs = Array(listed.items[listed.starts[c]..<listed.starts[c + 1]])
                            let askers = probing.items[probing.starts[c]..<probing.starts[c + 1]].map { $0 / Int32(probes) }
                            guard !memberIDs.isEmpty, !askers.isEmpty else { continue }
                            vectors.removeAll(keepingCapacity: true)
                            for j in memberIDs { vectors += members[(Int(j) * d)..<((Int(j) + 1) * d)] }
                            rows.removeAll(keepingCapacity: true)
                            for q in askers { rows += queries[(Int(q) * d)..<((Int(q) + 1) * d)] }
                            var dots = [Float](repeating: 0, count: askers.count * memberIDs.count)
                            rows.withUnsafeBufferPointer { qp in
                                vectors.withUnsafeBufferPointer { vp in
                                    dots.withUnsafeMutableBufferPointer { cs_dots(qp.baseAddress!, askers.count, vp.baseAddress!, memberIDs.count, d, $0.baseAddress!) }
                                }
                            }
                            var count = cs_offer(dots, askers.count, memberIDs.count, memberIDs, askers, askers, k, &sims, &ids, minSimilarity, &pairA, &pairB, &pairS, pairA.count)
                            if count > pairA.count {
                                // More pairs than room: make room and collect them again (k = 0 offers nothing twice).
                                pairA = [Int32](repeating: 0, count: count)
                                (pairB, pairS) = (pairA, [Float](repeating: 0, count: count))
                                count = cs_offer(dots, askers.count, memberIDs.count, memberIDs, askers, askers, 0, &sims, &ids, minSimilarity, &pairA, &pairB, &pairS, pairA.count)
                            }
                            for p in 0..<count { found.append((Int(min(pairA[p], pairB[p])), Int(max(pairA[p], pairB[p])), Double(pairS[p]))) }
                        }
                        sb[w] = sims
                        ib[w] = ids
                        pb[w] = found
                    }
                }
            }
        }
        var neighbours = [Int32](repeating: -1, count: n * k), similarities = [Double](repeating: -.infinity, count: n * k)
        for i in 0..<n {
            var merged = NearestNeighbours.Best(k)
            for w in 0..<workers { for c in 0..<k where bestIDs[w][i * k + c] >= 0 { merged.offer(Double(bestSims[w][i * k + c]), bestIDs[w][i * k + c]) } }
            for c in 0..<k { neighbours[i * k + c] = merged.ids[c]; similarities[i * k + c] = merged.sims[c] }
        }
        // A pair may be found from both of its items: keep one.
        let all = pairs.flatMap { $0 }.sorted { ($0.0, $0.1) < ($1.0, $1.1) }
        var unique: [(Int, Int, Double)] = []
        unique.reserveCapacity(all.count)
        for p in all where unique.last.map({ $0.0 != p.0 || $0.1 != p.1 }) ?? true { unique.append(p) }
        return NeighbourGraph(count: n, k: k, neighbours: neighbours, similarities: similarities, pairs: unique, exact: false)
    }
}
