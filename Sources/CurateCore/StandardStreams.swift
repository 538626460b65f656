import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Writes to standard output and standard error that never trap: Foundation's `FileHandle.write` raises (and
/// the process dies with SIGILL) when the stream is full or closed, which hid a full disk's own error message.
/// A failed write to standard output is remembered, so the command can exit non-zero, as `git log >/dev/full`
/// does; a failed write to standard error is dropped (there is nowhere left to report it).
package enum StandardStreams {
    private static let stdoutFailure = Mutex<Int32>(0)

    /// Writes all of `bytes` to `fd`; returns 0 or the errno that stopped it.
    @discardableResult
    package static func write(_ fd: Int32, _ bytes: some Collection<UInt8>) -> Int32 {
        var failure: Int32 = 0
        let array = Array(bytes)
        array.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                done += n
            }
        }
        return failure
    }

    /// A line to standard output (after any earlier failure, nothing more is written).
    package static func out(_ text: String) {
        guard stdoutFailure.withLock({ $0 }) == 0 else { return }
        let failure = write(STDOUT_FILENO, Array(text.utf8))
        if failure != 0 { stdoutFailure.withLock { if $0 == 0 { $0 = failure } } }
    }

    /// Text to standard error; failures are ignored.
    package static func err(_ text: String) {
        write(STDERR_FILENO, Array(text.utf8))
    }

    /// The errno of the first failed write to standard output, or nil.
    package static var outputFailure: Int32? {
        let value = stdoutFailure.withLock { $0 }
        return value == 0 ? nil : value
    }
}
