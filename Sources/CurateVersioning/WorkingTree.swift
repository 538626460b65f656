import CurateImaging
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// What `stat` says about a working file: the stat-cache key.
struct FileStat: Hashable, Sendable {
    var size: Int
    var mtimeNanoseconds: Int64
    var inode: UInt64
}

/// A file's content id and what its header says.
struct FileContent: Hashable, Sendable {
    var hash: ContentHash
    var size: Int
    var width: Int?
    var height: Int?
}

/// Walks tracked roots with `readdir`/`fstatat`. Skips `.curate` and `.git`. Refuses names that are not
/// valid UTF-8 or contain control characters (newline, tab, …), and symlinks that leave the root or point to
/// folders; a symlink to a file inside the root is tracked as that file's content.
struct WorkingTree: Sendable {
    let root: String

    func fullPath(_ relative: String) -> String { relative.isEmpty ? root : root + "/" + relative }

    /// All regular files under the given roots (repository-relative; "" is the whole repository), by path.
    /// One walker serves everything: this is `sortedScan` (FastStatus.swift) keyed by path.
    func scan(roots: [String], expected: Int = 0) throws(VersioningError) -> [String: FileStat] {
        let table = try sortedScan(roots: roots, expected: expected)
        var found: [String: FileStat] = [:]
        found.reserveCapacity(table.count)
        for i in 0..<table.count { found[table.path(i)] = table.rows[i].stat }
        return found
    }

    func entryName(_ entry: UnsafeMutablePointer<dirent>, in relative: String) throws(VersioningError) -> String? {
        try withUnsafeBytes(of: &entry.pointee.d_name) { (raw) throws(VersioningError) -> String? in
            let length = raw.firstIndex(of: 0) ?? raw.count
            let bytes = UnsafeRawBufferPointer(rebasing: raw[0..<length])
            if length == 1 && bytes[0] == 0x2E || length == 2 && bytes[0] == 0x2E && bytes[1] == 0x2E { return nil }
            // Fast path: printable ASCII.
            if bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7f }) { return String(decoding: bytes, as: UTF8.self) }
            guard let name = String(validating: bytes, as: UTF8.self) else {
                let shown = bytes.map { $0 < 0x80 && $0 >= 0x20 ? String(UnicodeScalar($0)) : String(format: "\\x%02x", $0) }.joined()
                throw VersioningError(.badPath, "\(fullPath(relative))/\(shown): file name is not valid UTF-8; rename it (nothing was changed)")
            }
            if name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) {
                let shown = name.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? String(format: "\\x%02x", $0.value) : String($0) }.joined()
                throw VersioningError(.badPath, "\(fullPath(relative))/\(shown): file name contains a control character (newline, tab, …); rename it (nothing was changed)")
            }
            return name
        }
    }

    func fileStat(_ full: String, relative: String, _ st: stat) throws(VersioningError) -> FileStat? {
        var st = st
        if (st.st_mode & S_IFMT) == S_IFLNK {
            guard let resolved = realpath(full, nil) else {
                throw VersioningError(.badPath, "\(full): broken symlink; remove it or point it at a file inside the repository")
            }
            let target = String(cString: resolved)
            free(resolved)
            let canonicalRoot = (try? canonical(root)) ?? root
            guard target.hasPrefix(canonicalRoot + "/") else {
                throw VersioningError(.badPath, "\(full): symlink points outside the repository (to \(target)); Curate refuses links that leave the root (nothing was changed)")
            }
            guard stat(target, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
                throw VersioningError(.badPath, "\(full): symlink to a folder or special file; add the real folder instead")
            }
        }
        return FileStat(size: Int(st.st_size), mtimeNanoseconds: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
                        inode: UInt64(st.st_ino))
    }
}

/// `realpath` as a String.
func canonical(_ path: String) throws(VersioningError) -> String {
    guard let resolved = realpath(path, nil) else {
        throw VersioningError(.notFound, "\(path): \(String(cString: strerror(errno)))")
    }
    defer { free(resolved) }
    return String(cString: resolved)
}

/// Hashes files on every core; optionally stores the contents not yet in the store into new packs.
struct Hasher: Sendable {
    let tree: WorkingTree

    struct Output: Sendable {
        var contents: [String: FileContent] = [:]
        var stats: [String: FileStat] = [:]
        var packs: [[(ContentHash, ObjectLocation)]] = []
    }

    /// - Parameters:
    ///   - paths: repository-relative paths to hash.
    ///   - store: when given, contents whose hash is not in `known` are appended to a pack per worker.
    ///   - known: hashes already stored.
    func hash(_ paths: [String], store: ObjectStore?, known: Set<ContentHash>) throws(VersioningError) -> Output {
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, paths.count / 64 + 1))
        let results = Mutex<[Result<Output, VersioningError>]>([])
        let tree = self.tree
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var output = Output()
            var pack: PackWriter?
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            var stored = Set<ContentHash>()
            do throws(VersioningError) {
                if let store { pack = try PackWriter(store: store) }
                var index = worker
                while index < paths.count {
                    let path = paths[index]
                    let (content, stat) = try Self.hashFile(tree.fullPath(path), relative: path, buffer: &buffer) { hash, bytes throws(VersioningError) in
                        if let pack, !known.contains(hash), stored.insert(hash).inserted { try pack.append(hash, bytes) }
                    }
                    output.contents[path] = content
                    output.stats[path] = stat
                    index += workers
                }
                if let pack { output.packs = [try pack.finish()] }
                results.withLock { $0.append(.success(output)) }
            } catch {
                pack?.abandon()
                results.withLock { $0.append(.failure(error)) }
            }
        }
        var merged = Output()
        for result in results.withLock({ $0 }) {
            let output = try result.get()
            merged.contents.merge(output.contents) { a, _ in a }
            merged.stats.merge(output.stats) { a, _ in a }
            merged.packs += output.packs.filter { !$0.isEmpty }
        }
        return merged
    }

    /// Reads a whole file, hashes it, reads its image size from the header, and hands the bytes to `store`.
    static func hashFile(
        _ full: String, relative: String, buffer: inout [UInt8],
        store: (ContentHash, UnsafeRawBufferPointer) throws(VersioningError) -> Void
    ) throws(VersioningError) -> (FileContent, FileStat) {
        let fd = open(full, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw VersioningError(.badPath, "\(full): cannot read: \(String(cString: strerror(errno))) (nothing was changed)") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw VersioningError(.badPath, "\(full): cannot stat: \(String(cString: strerror(errno)))") }
        let size = Int(st.st_size)
        if buffer.count < size { buffer = [UInt8](repeating: 0, count: max(size, buffer.count * 2)) }
        let got = buffer.withUnsafeMutableBytes { preadFully(fd, $0.baseAddress!, size, 0) }
        guard got == size else { throw VersioningError(.badPath, "\(full): changed or unreadable while reading (got \(got) of \(size) bytes); retry") }
        return try withBytes(buffer) { (all) throws(VersioningError) -> (FileContent, FileStat) in
            let bytes = UnsafeRawBufferPointer(rebasing: all[0..<size])
            let hash = ContentHash.of(bytes)
            try store(hash, bytes)
            let dims = ImageSniffer.sniff(bytes)
            let stat = FileStat(size: size, mtimeNanoseconds: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
                                inode: UInt64(st.st_ino))
            return (FileContent(hash: hash, size: size, width: dims?.width, height: dims?.height), stat)
        }
    }
}
