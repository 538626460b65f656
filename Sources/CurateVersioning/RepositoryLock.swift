import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The one-writer lock: `flock` on `.curate/lock`, which the kernel releases when the holder dies, so a lock
/// left by a killed process is cleared by construction. The file records who holds it, for the error message.
final class RepositoryLock: Sendable {
    private let fd: Int32

    private init(fd: Int32) { self.fd = fd }

    /// Takes the lock, polling until `wait` seconds have passed.
    /// - Throws: `.locked` with "locked by pid N since T" when another live process keeps it.
    static func acquire(_ path: String, wait: Double) throws(VersioningError) -> RepositoryLock {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw VersioningError(.io, "\(path): cannot open the lock file: \(String(cString: strerror(errno)))") }
        let deadline = Date().addingTimeInterval(max(0, wait))
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                close(fd)
                throw VersioningError(.io, "\(path): cannot lock: \(String(cString: strerror(errno)))")
            }
            if Date() >= deadline {
                let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
                close(fd)
                throw VersioningError(.locked, "repository is locked by \(holder.isEmpty ? "another process" : holder); retry, or pass --wait SECONDS")
            }
            usleep(20_000)
        }
        // We hold it: any previous content came from a process that died or finished; replace it.
        let formatter = ISO8601DateFormatter()
        let line = "pid \(getpid()) since \(formatter.string(from: Date()))\n"
        _ = ftruncate(fd, 0)
        _ = line.withCString { pwrite(fd, $0, strlen($0), 0) }
        return RepositoryLock(fd: fd)
    }

    /// Releases the lock (also released if the process dies).
    func release() {
        _ = ftruncate(fd, 0)
        flock(fd, LOCK_UN)
        close(fd)
    }

    deinit {}
}
