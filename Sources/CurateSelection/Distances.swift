import Dispatch

/// Squared-distance updates for the diversity strategies, on single-precision rows, on both cores.
enum Distances {
    /// Raw addresses that cross into the worker closures (each worker touches its own slice of `nearest`).
    struct Buffers: @unchecked Sendable {
        var rows: UnsafePointer<Float>
        var nearest: UnsafeMutablePointer<Float>
        var center: UnsafePointer<Float>
    }

    /// `nearest[i] = min(nearest[i], ‖rows[i] − center‖²)` for every row.
    static func update(_ b: Buffers, count: Int, dimensions d: Int) {
        let workers = count >= 4096 ? 2 : 1
        let chunk = (count + workers - 1) / workers
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let start = w * chunk, end = min(count, start + chunk)
            guard start < end else { return }
            updateRange(b.rows + start * d, b.nearest + start, b.center, end - start, d)
        }
    }

    @inline(never)
    static func updateRange(_ rows: UnsafePointer<Float>, _ nearest: UnsafeMutablePointer<Float>, _ center: UnsafePointer<Float>, _ count: Int, _ d: Int) {
        for i in 0..<count {
            let row = rows + i * d
            var s: Float = 0
            for j in 0..<d { let t = row[j] - center[j]; s += t * t }
            if s < nearest[i] { nearest[i] = s }
        }
    }
}
