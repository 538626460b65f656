import CCurateKernels
import CurateCore

/// The instruction set the pixel kernels run with, chosen once at start-up from what the CPU reports (the best it
/// supports) or forced with `CURATE_CPU=baseline|avx2|avx512`. Every path gives the same bytes, so lineage replays
/// bit for bit on any machine; only the speed differs.
///
/// - `baseline`: x86-64 with SSE2 (every 64-bit x86 CPU; the only path on other architectures).
/// - `avx2`: AVX2 and BMI2 (Intel Haswell, AMD Zen and later).
/// - `avx512`: AVX-512 F, BW, VL and VBMI (Intel Ice Lake, AMD Zen 4 and later), for byte permutes.
public enum CPUPath: String, Sendable, CaseIterable {
    case baseline, avx2, avx512

    var code: Int32 {
        switch self {
        case .baseline: Int32(CK_BASELINE)
        case .avx2: Int32(CK_AVX2)
        case .avx512: Int32(CK_AVX512)
        }
    }

    init(code: Int32) {
        self = CPUPath.allCases.first { $0.code == code } ?? .baseline
    }

    /// The paths this CPU can run, baseline first.
    public static var supported: [CPUPath] { allCases.filter { ck_supported($0.code) != 0 } }

    /// The path in use.
    public static var current: CPUPath { CPUPath(code: ck_path()) }

    /// Applies `CURATE_CPU` from `environment` (nothing when unset or empty: the best path stays).
    /// - Throws: ``AugmentError`` (usage) naming the value and the paths this CPU supports, when the value is
    ///   unknown or the CPU lacks it.
    public static func configure(environment: [String: String]) throws(AugmentError) {
        guard let value = environment["CURATE_CPU"]?.lowercased(), !value.isEmpty else { return }
        let names = supported.map(\.rawValue).joined(separator: ", ")
        guard let path = CPUPath(rawValue: value) else {
            throw AugmentError(.cpu, "CURATE_CPU=\(value) is not a kernel path; use one of baseline, avx2, avx512 (this CPU supports \(names))")
        }
        guard supported.contains(path) else {
            throw AugmentError(.cpu, "CURATE_CPU=\(value): this CPU does not support \(value) (it supports \(names))")
        }
        ck_set_path(path.code)
    }

    /// Runs `body` with the calling thread's kernels on `path` (for comparing paths in tests); other threads keep
    /// the process-wide path.
    package static func with<T>(_ path: CPUPath, _ body: () throws -> T) rethrows -> T {
        precondition(supported.contains(path), "\(path) not supported here")
        ck_set_thread_path(path.code)
        defer { ck_set_thread_path(-1) }
        return try body()
    }
}
