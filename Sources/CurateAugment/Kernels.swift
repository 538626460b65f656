/// Small loops over raw pointers, kept out of line so that the compiler sees plain pointer arguments (not
/// values captured by closures) and vectorises them, checking for overlap at run time.
enum Kernels {
    /// `out[i] = Int32(a[i]) · wa + Int32(b[i]) · wb`.
    @inline(never)
    static func blend(_ out: UnsafeMutablePointer<Int32>, _ a: UnsafePointer<UInt8>, _ wa: Int32, _ b: UnsafePointer<UInt8>, _ wb: Int32, _ count: Int) {
        for i in 0..<count { out[i] = Int32(a[i]) &* wa &+ Int32(b[i]) &* wb }
    }

    /// `out[i] += weight · src[i]`.
    @inline(never)
    static func multiplyAdd(_ out: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ weight: Float, _ count: Int) {
        for i in 0..<count { out[i] += weight * src[i] }
    }

    /// `out[i] = Float(src[i])`.
    @inline(never)
    static func widen(_ out: UnsafeMutablePointer<Float>, _ src: UnsafePointer<UInt8>, _ count: Int) {
        for i in 0..<count { out[i] = Float(src[i]) }
    }

    /// `out[i] = src[i]` clamped to [0, 255] and rounded (half to even), without per-element conversion checks:
    /// adding 1.5 · 2^23 leaves the rounded integer in the low mantissa bits.
    @inline(never)
    static func narrow(_ out: UnsafeMutablePointer<UInt8>, _ src: UnsafePointer<Float>, _ count: Int) {
        for i in 0..<count {
            let v = min(max(src[i], 0), 255) + 12_582_912
            out[i] = UInt8(truncatingIfNeeded: v.bitPattern)
        }
    }
}

extension Kernels {
    /// HSV adjustment of planar samples (0…255 as floats), in place: H (in sixths of a turn) + `shift`, S · `satScale`
    /// + `satShift` and V + `valShift` (clamped to [0, 1]). Each result is left as `v + 1.5 · 2^23`, whose low
    /// bits hold the rounded sample (see `narrow`). Branch-free, so the compiler vectorises it.
    @inline(never)
    static func adjustHSV(_ r: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>, _ b: UnsafeMutablePointer<Float>, _ count: Int,
                          shift: Float, satScale: Float, satShift: Float, valShift: Float) {
        for i in 0..<count {
            let red = r[i], green = g[i], blue = b[i]
            let maxV = max(red, max(green, blue)), minV = min(red, min(green, blue)), delta = maxV - minV
            let inv = 1 / (delta == 0 ? 1 : delta)
            var h = maxV == red ? (green - blue) * inv : maxV == green ? (blue - red) * inv + 2 : (red - green) * inv + 4
            h = h < 0 ? h + 6 : h
            h = (delta == 0 ? 0 : h) + shift
            h = h >= 6 ? h - 6 : h
            let sat = delta / (maxV == 0 ? 1 : maxV)
            let s2 = min(max(sat * satScale + satShift, 0), 1)
            let v2 = min(max(maxV * (1 / 255) + valShift, 0), 1) * 255
            let vs = v2 * s2
            // channel(n) = V − V·S·clamp(min(k, 4 − k), 0, 1), k = (n + H) mod 6.
            var k = h + 5
            k = k >= 6 ? k - 6 : k
            r[i] = v2 - vs * min(max(min(k, 4 - k), 0), 1) + 12_582_912
            k = h + 3
            k = k >= 6 ? k - 6 : k
            g[i] = v2 - vs * min(max(min(k, 4 - k), 0), 1) + 12_582_912
            k = h + 1
            k = k >= 6 ? k - 6 : k
            b[i] = v2 - vs * min(max(min(k, 4 - k), 0), 1) + 12_582_912
        }
    }
}

extension Kernels {
    /// `out[i] = table[src[i]]`.
    @inline(never)
    static func lookup(_ out: UnsafeMutablePointer<UInt8>, _ src: UnsafePointer<UInt8>, _ table: UnsafePointer<UInt8>, _ count: Int) {
        for i in 0..<count { out[i] = table[Int(src[i])] }
    }
}

extension Kernels {
    /// `out[i] = clamp(src[i] + delta[i], 0, 255)`.
    @inline(never)
    static func addClamped(_ out: UnsafeMutablePointer<UInt8>, _ src: UnsafePointer<UInt8>, _ delta: UnsafePointer<Int16>, _ count: Int) {
        for i in 0..<count { out[i] = UInt8(truncatingIfNeeded: min(max(Int16(src[i]) &+ delta[i], 0), 255)) }
    }
}
