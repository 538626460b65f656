import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reads a file a user named: a regular file only (never a device, pipe or socket, which could be endless, like
/// `/dev/zero`), and no larger than a cap, so bad input costs an error, not the machine's memory.
///
/// ```swift
/// let data = try InputFile.read("labels.coco.json")
/// ```
package enum InputFile {
    /// The default cap: 4 GiB.
    package static let defaultLimit = 1 << 32

    /// Why a file could not be read; `description` is the one-line reason (without the path).
    package enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case notFound
        case folder
        case notRegular
        case tooLarge(size: Int, limit: Int)
        case unreadable(String)

        package var description: String {
            switch self {
            case .notFound: return "no such file"
            case .folder: return "is a folder, expected a file"
            case .notRegular: return "not a regular file (a device, pipe or socket); give a file"
            case .tooLarge(let size, let limit): return "is \(size) bytes, over the limit of \(limit)"
            case .unreadable(let reason): return "cannot read the file: \(reason)"
            }
        }
    }

    /// The whole file.
    /// - Throws: ``Failure``.
    package static func read(_ path: String, limit: Int = defaultLimit) throws(Failure) -> Data {
        // O_NONBLOCK: opening a FIFO must not wait for a writer before fstat can refuse it.
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT || errno == ENOTDIR { throw .notFound }
            if errno == EISDIR { throw .folder }
            throw .unreadable(String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .unreadable(String(cString: strerror(errno))) }
        switch st.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw .folder
        default: throw .notRegular
        }
        let size = Int(st.st_size)
        guard size <= limit else { throw .tooLarge(size: size, limit: limit) }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        var data = Data(count: size)
        var done = 0
        var failure: Int32 = 0
        data.withUnsafeMutableBytes { raw in
            while done < size {
                let n = Glibc.read(fd, raw.baseAddress! + done, size - done)
                if n < 0 { if errno == EINTR { continue }; failure = errno; return }
                if n == 0 { break }
                done += n
            }
        }
        if failure != 0 { throw .unreadable(String(cString: strerror(failure))) }
        if done < size { data.removeSubrange(done...) }
        return data
    }
}
