import CurateCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs `count` jobs on up to `jobs` threads (transfers wait on the network, so more threads than cores pay);
/// the first failure stops the jobs not yet started and is rethrown.
func parallel(jobs: Int, count: Int, _ body: @escaping @Sendable (Int) throws(RemoteError) -> Void) throws(RemoteError) {
    guard count > 0 else { return }
    if jobs <= 1 || count == 1 {
        for i in 0..<count { try body(i) }
        return
    }
    final class State: @unchecked Sendable {
        let lock = NSLock()
        var next = 0
        var failure: RemoteError?
    }
    let state = State()
    let group = DispatchGroup()
    for _ in 0..<min(jobs, count) {
        group.enter()
        let thread = Thread {
            defer { group.leave() }
            while true {
                let i: Int? = state.lock.withLock {
                    guard state.failure == nil, state.next < count else { return nil }
                    state.next += 1
                    return state.next - 1
                }
                guard let i else { return }
                do throws(RemoteError) { try body(i) } catch {
                    state.lock.withLock { if state.failure == nil { state.failure = error } }
                    return
                }
            }
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
    group.wait()
    if let failure = state.failure { throw failure }
}

/// Bytes moved so far, shown on standard error: one updating line with bytes, rate and ETA on a terminal, a plain
/// line every few seconds otherwise (logs), and a last line when done. Thread-safe.
package final class TransferProgress: @unchecked Sendable {
    private let lock = NSLock()
    private let label: String
    private let total: Int
    private var done = 0
    private let started = Date()
    private var lastShown = Date.distantPast
    private let terminal: Bool
    private let quiet: Bool

    /// - Parameters:
    ///   - label: what moves ("push origin").
    ///   - total: bytes expected.
    package init(_ label: String, total: Int, quiet: Bool = false) {
        self.label = label
        self.total = total
        self.quiet = quiet || total == 0
        terminal = isatty(STDERR_FILENO) != 0 && ProcessInfo.processInfo.environment["TERM"] != "dumb"
        // Plain lines (a log) come every few seconds, the first after a few seconds too.
        if !terminal { lastShown = started }
    }

    package func add(_ bytes: Int) {
        let line: String? = lock.withLock {
            done += bytes
            let now = Date()
            guard !quiet, now.timeIntervalSince(lastShown) >= (terminal ? 0.2 : 5) else { return nil }
            lastShown = now
            return describe(now)
        }
        if let line { StandardStreams.err(terminal ? "\r\u{1B}[K" + line : line + "\n") }
    }

    package func finish() {
        guard !quiet else { return }
        let line = lock.withLock { describe(Date()) }
        StandardStreams.err(terminal ? "\r\u{1B}[K" + line + "\n" : line + "\n")
    }

    private func describe(_ now: Date) -> String {
        let seconds = max(now.timeIntervalSince(started), 0.001)
        let rate = Double(done) / seconds
        let left = rate > 0 ? Double(max(0, total - done)) / rate : 0
        let percent = total > 0 ? 100 * done / total : 100
        return "\(label): \(percent)% \(Self.bytes(done)) / \(Self.bytes(total)) · \(Self.bytes(Int(rate)))/s"
            + (done < total ? " · ETA \(Self.duration(left))" : " · \(Self.duration(seconds))")
    }

    package static func bytes(_ n: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(n), unit = 0
        while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(n) B" : String(format: "%.1f %@", value, units[unit])
    }

    static func duration(_ s: Double) -> String {
        s < 60 ? String(format: "%.1f s", s) : String(format: "%d min %02d s", Int(s) / 60, Int(s) % 60)
    }
}
