import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes files below one folder without ever following a symbolic link: every folder on the way is opened with
/// `openat(…, O_NOFOLLOW)` relative to the one above it, every file is written to a temporary file in its folder
/// (`.curate-tmp-*`, which scans skip) and renamed over the old name with `renameat`. A link planted anywhere
/// under the folder makes the write fail instead of landing outside it.
final class FolderWriter {
    let base: String
    private var folders: [String: Int32] = [:]
    /// fsync every file and folder as it is written (the default). A new clone, which has nothing to lose, writes
    /// without and calls `syncAll` once at the end.
    var durable = true

    /// - Parameter base: the folder, already resolved by the caller (it may itself be reached through a link the
    ///   user named; nothing below it may be).
    init(base: String) throws(VersioningError) {
        self.base = base
        let fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw VersioningError(.io, "\(base): cannot open the folder: \(String(cString: strerror(errno)))") }
        folders[""] = fd
    }

    deinit { for (_, fd) in folders { close(fd) } }

    /// The descriptor of a folder below `base`, made if missing; leftovers of a killed write in it are removed.
    func folder(_ relative: String) throws(VersioningError) -> Int32 {
        if let fd = folders[relative] { return fd }
        let parentPath = parentDirectory(relative)
        let parent = try folder(parentPath)
        let name = lastComponent(relative)
        var fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 && errno == ENOENT {
            guard mkdirat(parent, name, 0o755) == 0 || errno == EEXIST else {
                throw VersioningError(.io, "\(base)/\(relative): cannot create the folder: \(String(cString: strerror(errno)))")
            }
            fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        }
        guard fd >= 0 else {
            if errno == ELOOP || errno == ENOTDIR {
                throw VersioningError(.badPath, "\(base)/\(relative): is a symbolic link or a file, not a folder; checkout never writes through links: remove it or choose another folder (nothing was written there)")
            }
            throw VersioningError(.io, "\(base)/\(relative): cannot open the folder: \(String(cString: strerror(errno)))")
        }
        removeLeftovers(fd)
        folders[relative] = fd
        return fd
    }

    /// Removes `.curate-tmp-*` files a killed checkout left in a folder.
    private func removeLeftovers(_ fd: Int32) {
        let copy = dup(fd)
        guard copy >= 0, let dir = fdopendir(copy) else { if copy >= 0 { close(copy) }; return }
        defer { closedir(dir) }
        var stale: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: &entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name.utf8.starts(with: temporaryPrefix) { stale.append(name) }
        }
        for name in stale { unlinkat(fd, name, 0) }
    }

    /// Writes `data` as `relative` atomically (temporary file, fsync, rename in the same folder).
    func write(_ data: Data, to relative: String) throws(VersioningError) {
        let dir = try folder(parentDirectory(relative))
        let name = lastComponent(relative)
        let temporary = String(decoding: temporaryPrefix, as: UTF8.self) + UUID().uuidString.lowercased()
        let fd = openat(dir, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw VersioningError(.io, "\(base)/\(relative): cannot write: \(String(cString: strerror(errno)))") }
        let ok = durable ? writeAllAndSync(fd, data) : writeAll(fd, data)
        let writeError = errno
        close(fd)
        guard ok else {
            unlinkat(dir, temporary, 0)
            throw VersioningError(.io, "\(base)/\(relative): cannot write: \(String(cString: strerror(writeError)))")
        }
        // renameat replaces a link at the name itself, never its target.
        guard renameat(dir, temporary, dir, name) == 0 else {
            let reason = String(cString: strerror(errno))
            unlinkat(dir, temporary, 0)
            throw VersioningError(.io, "\(base)/\(relative): cannot replace it: \(reason)")
        }
        if durable { fsync(dir) }
    }

    /// Flushes everything written (one `sync` instead of an fsync per file and folder; Swift's Glibc module does not
    /// export `syncfs`).
    func syncAll() {
        sync()
    }

    /// Removes `relative` (a file or link, never what a link points to). Returns whether it was there.
    func remove(_ relative: String) throws(VersioningError) -> Bool {
        let dir = try folder(parentDirectory(relative))
        return unlinkat(dir, lastComponent(relative), 0) == 0
    }
}
