import CCurateSearch
import CurateCore
import Foundation

/// k-means for large sets: the same seeded k-means++ start and Lloyd iterations as the double-precision version
/// in CurateSelection, in single precision over centred rows padded to 16 floats, with every row-to-centroid
/// distance (‖x‖² − 2x·c + ‖c‖²) from the dot-product kernel, on both cores. The centroid sums are kept in double
/// precision per fixed chunk of rows and added in chunk order, so the result does not depend on the core count.
package enum Clustering {
    package static func kMeans(_ x: [Double], dimensions d: Int, count n: Int, k: Int, seed: UInt64, iterations: Int = 20) -> [Int] {
        guard n > 0, k > 0, d > 0 else { return [Int](repeating: 0, count: n) }
        let padded = (d + 15) / 16 * 16
        var mean = [Double](repeating: 0, count: d)
        for i in 0..<n { for j in 0..<d { mean[j] += x[i * d + j] } }
        for j in 0..<d { mean[j] /= Double(n) }
        var rows = [Float](repeating: 0, count: n * padded), norms = [Float](repeating: 0, count: n)
        for i in 0..<n {
            var norm: Float = 0
            for j in 0..<d { let v = Float(x[i * d + j] - mean[j]); rows[i * padded + j] = v; norm += v * v }
            norms[i] = norm
        }
        // k-means++: each next centre drawn with probability proportional to the squared distance to the nearest.
        var rng = SplitMix64(seed: seed)
        var centers = [Int(rng.next() % UInt64(n))]
        var centroids = Array(rows[(centers[0] * padded)..<((centers[0] + 1) * padded)])
        var nearest = [Double](repeating: .infinity, count: n)
        while centers.count < min(k, n) {
            let c = centers.count - 1
            let distances = squaredDistances(rows, norms, count: n, centroids: Array(centroids[(c * padded)..<((c + 1) * padded)]), k: 1, d: padded)
            let next = nextCentre(&nearest, chosen: centers.count, rng: &rng) { Double(distances[$0]) }
            centers.append(next)
            centroids += rows[(next * padded)..<((next + 1) * padded)]
        }
        let kk = centers.count
        var assignment = [Int](repeating: 0, count: n)
        let chunk = 65_536, chunks = (n + chunk - 1) / chunk
        for _ in 0..<iterations {
            var sums = [[Double]](repeating: [], count: chunks), counts = [[Int]](repeating: [], count: chunks), moved = [Bool](repeating: false, count: chunks)
            rows.withUnsafeBufferPointer { rp in
                centroids.withUnsafeBufferPointer { cp in
                    assignment.withUnsafeMutableBufferPointer { ap in
                        sums.withUnsafeMutableBufferPointer { sp in
                            counts.withUnsafeMutableBufferPointer { np in
                                moved.withUnsafeMutableBufferPointer { mp in
                                    nonisolated(unsafe) let (rp, cp, ap, sp, np, mp) = (rp, cp, ap, sp, np, mp)  // each chunk writes its own rows and slots
                                    var centroidNorms = [Float](repeating: 0, count: kk)
                                    for c in 0..<kk { for j in 0..<padded { centroidNorms[c] += cp[c * padded + j] * cp[c * padded + j] } }
                                    let cn = centroidNorms
                                    DispatchQueue.concurrentPerform(iterations: chunks) { b in
                                        let low = b * chunk, high = min(n, low + chunk)
                                        var sum = [Double](repeating: 0, count: kk * d), count = [Int](repeating: 0, count: kk)
                                        var dots = [Float](repeating: 0, count: 512 * kk)
                                        var changedHere = false
                                        for start in stride(from: low, to: high, by: 512) {
                                            let m = min(512, high - start)
                                            dots.withUnsafeMutableBufferPointer { cs_dots(rp.baseAddress! + start * padded, m, cp.baseAddress!, kk, padded, $0.baseAddress!) }
                                            for r in 0..<m {
                                                var best = 0, bestD = Float.infinity
                                                for c in 0..<kk { let v = cn[c] - 2 * dots[r * kk + c]; if v < bestD { bestD = v; best = c } }
                                                let i = start + r
                                                if ap[i] != best { ap[i] = best; changedHere = true }
                                                count[best] += 1
                                                for j in 0..<d { sum[best * d + j] += Double(rp[i * padded + j]) }
                                            }
                                        }
                                        sp[b] = sum
                                        np[b] = count
                                        mp[b] = changedHere
                                    }
                                }
                            }
                        }
                    }
                }
            }
            let changed = moved.contains(true)
            var total = [Double](repeating: 0, count: kk * d), members = [Int](repeating: 0, count: kk)
            for b in 0..<chunks {
                for t in 0..<(kk * d) { total[t] += sums[b][t] }
                for c in 0..<kk { members[c] += counts[b][c] }
            }
            for c in 0..<kk where members[c] > 0 { for j in 0..<d { centroids[c * padded + j] = Float(total[c * d + j] / Double(members[c])) } }
            if !changed { break }
        }
        return assignment
    }

    /// k-means++'s next centre: `nearest` (each row's squared distance to the nearest centre so far) lowered by
    /// `distance` to the newest, then a row drawn with probability proportional to it (row `chosen` when all are 0).
    package static func nextCentre(_ nearest: inout [Double], chosen: Int, rng: inout SplitMix64, distance: (Int) -> Double) -> Int {
        let n = nearest.count
        var total = 0.0
        for i in 0..<n { nearest[i] = min(nearest[i], distance(i)); total += nearest[i] }
        guard total > 0 else { return chosen }
        var target = Double(rng.next() >> 11) * 0x1p-53 * total
        for i in 0..<n { target -= nearest[i]; if target < 0 { return i } }
        return n - 1
    }

    /// Squared distance of every row to each of `k` centroids (row-major N × k).
    static func squaredDistances(_ rows: [Float], _ norms: [Float], count n: Int, centroids: [Float], k: Int, d: Int) -> [Float] {
        var out = [Float](repeating: 0, count: n * k)
        let centroidNorms = (0..<k).map { c in (0..<d).reduce(Float(0)) { $0 + centroids[c * d + $1] * centroids[c * d + $1] } }
        let block = 4096, blocks = (n + block - 1) / block
        rows.withUnsafeBufferPointer { rp in
            centroids.withUnsafeBufferPointer { cp in
                out.withUnsafeMutableBufferPointer { op in
                    nonisolated(unsafe) let (rp, cp, op) = (rp, cp, op)  // each block writes its own rows
                    DispatchQueue.concurrentPerform(iterations: blocks) { b in
                        let low = b * block, m = min(n, low + block) - low
                        cs_dots(rp.baseAddress! + low * d, m, cp.baseAddress!, k, d, op.baseAddress! + low * k)
                        for r in 0..<m { for c in 0..<k { op[(low + r) * k + c] = max(0, norms[low + r] - 2 * op[(low + r) * k + c] + centroidNorms[c]) } }
                    }
                }
            }
        }
        return out
    }
}
