/// SplitMix64 (Steele, Lea and Flood 2014): a small, fast generator whose stream depends only on its seed.
/// Every random choice in Curate (augmentation, sampling, tie-breaks) draws from one, seeded from a value that
/// is recorded, so any run can be replayed.
///
/// ```swift
/// var rng = SplitMix64(seed: 42)
/// let x = Int.random(in: 0..<10, using: &rng)
/// ```
package struct SplitMix64: RandomNumberGenerator, Sendable, Hashable {
    private var state: UInt64

    /// Creates a generator; equal seeds give equal streams.
    package init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
