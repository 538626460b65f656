/// Small loops over raw pointers, kept out of line so that the compiler sees plain pointer arguments (not
/// values captured by closures) and vectorises them, checking for overlap at run time.
enum Kernels {
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
    /// `out[i] = clamp(src[i] + delta[i], 0, 255)`.
    @inline(never)
    static func addClamped(_ out: UnsafeMutablePointer<UInt8>, _ src: UnsafePointer<UInt8>, _ delta: UnsafePointer<Int16>, _ count: Int) {
        for i in 0..<count { out[i] = UInt8(truncatingIfNeeded: min(max(Int16(src[i]) &+ delta[i], 0), 255)) }
    }
}
