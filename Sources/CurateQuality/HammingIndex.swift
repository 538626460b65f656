import Dispatch

/// Exact search for pairs of 64-bit hashes within a Hamming radius by multi-index hashing (Norouzi, Punjani and
/// Fleet, 2012), instead of comparing all pairs.
///
/// The hash is cut into four 16-bit pieces, each indexed by a direct-address table (65,536 buckets). Two hashes
/// at most `r` bits apart differ in some piece by at most ⌊r / 4⌋ bits (pigeonhole), so probing, for each piece,
/// every bucket within ⌊r / 4⌋ bits of the query's piece finds every pair; each candidate is counted from the
/// first piece that finds it, then checked in full. Memory is linear: four index arrays of N entries.
package struct HammingIndex: Sendable {
    private let hashes: [UInt64]
    /// Per piece: bucket starts (65,537) and the items, by bucket then by index, with their hashes beside them (a
    /// bucket is then read in order, not gathered from all over the hashes).
    private let starts: [[Int32]]
    private let members: [[Int32]]
    private let memberHashes: [[UInt64]]

    package init(_ hashes: [UInt64]) {
        self.hashes = hashes
        var starts: [[Int32]] = [], members: [[Int32]] = [], memberHashes: [[UInt64]] = []
        for piece in 0..<4 {
            var count = [Int32](repeating: 0, count: 65_537)
            for h in hashes { count[Int(Self.piece(h, piece)) + 1] += 1 }
            for b in 0..<65_536 { count[b + 1] += count[b] }
            var fill = count
            var list = [Int32](repeating: 0, count: hashes.count), values = [UInt64](repeating: 0, count: hashes.count)
            for (i, h) in hashes.enumerated() {
                let b = Int(Self.piece(h, piece))
                list[Int(fill[b])] = Int32(i)
                values[Int(fill[b])] = h
                fill[b] += 1
            }
            starts.append(count)
            members.append(list)
            memberHashes.append(values)
        }
        self.starts = starts
        self.members = members
        self.memberHashes = memberHashes
    }

    @inline(__always) static func piece(_ h: UInt64, _ p: Int) -> UInt16 { UInt16(truncatingIfNeeded: h >> (16 * UInt64(p))) }

    /// Every pair (i, j, distance) with i < j and distance ≤ `radius`, by i then j — exactly what comparing all
    /// pairs gives. On both cores.
    package func pairs(within radius: Int) -> [(Int, Int, Int)] {
        let n = hashes.count
        guard radius >= 0, n > 1 else { return [] }
        let perPiece = min(radius / 4, 16)
        // Every 16-bit mask with at most `perPiece` bits set: the buckets to probe around a piece.
        let masks = (0...65_535).filter { $0.nonzeroBitCount <= perPiece }.map(UInt16.init)
        let chunks = max(1, min(64, n / 4096))
        var results = [[(Int, Int, Int)]](repeating: [], count: chunks)
        results.withUnsafeMutableBufferPointer { out in
            nonisolated(unsafe) let out = out  // each chunk writes its own slot
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let low = c * n / chunks, high = (c + 1) * n / chunks
                var found: [(Int, Int, Int)] = []
                var mine: [(Int, Int)] = []
                hashes.withUnsafeBufferPointer { h in
                    for i in low..<high {
                        let query = h[i]
                        mine.removeAll(keepingCapacity: true)
                        for p in 0..<4 {
                            let key = Self.piece(query, p)
                            starts[p].withUnsafeBufferPointer { start in
                                members[p].withUnsafeBufferPointer { list in
                                memberHashes[p].withUnsafeBufferPointer { values in
                                    for mask in masks {
                                        let b = Int(key ^ mask)
                                        for slot in Int(start[b])..<Int(start[b + 1]) {
                                            let other = values[slot]
                                            if (query ^ other).nonzeroBitCount > radius { continue }
                                            let j = Int(list[slot])
                                            guard j > i else { continue }
                                            // Counted from the first piece close enough to find it.
                                            var earlier = false
                                            for q in 0..<p where (Self.piece(query, q) ^ Self.piece(other, q)).nonzeroBitCount <= perPiece { earlier = true; break }
                                            if earlier { continue }
                                            mine.append((j, (query ^ other).nonzeroBitCount))
                                        }
                                    }
                                }
                                }
                            }
                        }
                        mine.sort { $0.0 < $1.0 }
                        for (j, d) in mine { found.append((i, j, d)) }
                    }
                }
                out[c] = found
            }
        }
        return results.flatMap { $0 }
    }
}
