import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#endif

/// Where an object's bytes live: in a pack file at an offset, or as a loose file `objects/ab/<hash>`.
struct ObjectLocation: Sendable, Hashable {
    var pack: String?
    var offset: Int
    var length: Int
}

/// How a working file and the store share bytes.
public enum LinkMode: String, Sendable, CaseIterable, Codable {
    /// Copy bytes into the store (default; safe everywhere).
    case copy
    /// Hard-link the working file into the store and make it read-only (saves space; edits must replace the file).
    case hardlink
    /// Copy-on-write clone (`FICLONE`, on Btrfs/XFS); falls back to a copy where the file system cannot.
    case reflink
}

/// The content-addressed store under `.curate/`: immutable objects named by their SHA-256.
/// Small objects written together go into one pack file; hard-linked and reflinked blobs are loose files.
/// Every write goes to a temporary file that is fsynced and renamed before the metadata that points to it commits.
struct ObjectStore: Sendable {
    let root: String  // .curate

    var packsDirectory: String { root + "/packs" }
    var objectsDirectory: String { root + "/objects" }

    func loosePath(_ hash: ContentHash) -> String {
        objectsDirectory + "/" + hash.hex.prefix(2) + "/" + hash.hex.dropFirst(2)
    }

    /// Reads an object's bytes and checks them against the hash when `verify` is set.
    func read(_ hash: ContentHash, at location: ObjectLocation, verify: Bool = false) throws(VersioningError) -> Data {
        let path = location.pack.map { packsDirectory + "/" + $0 } ?? loosePath(hash)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw VersioningError(.corrupt, "object \(hash.short()) is missing (\(path): \(String(cString: strerror(errno)))); run curate fsck") }
        defer { close(fd) }
        var data = Data(count: location.length)
        let got = data.withUnsafeMutableBytes { preadFully(fd, $0.baseAddress!, location.length, off_t(location.offset)) }
        guard got == location.length else { throw VersioningError(.corrupt, "object \(hash.short()) is truncated in \(path); run curate fsck") }
        if verify, ContentHash.of(data) != hash {
            throw VersioningError(.corrupt, "object \(hash.short()) in \(path) does not match its hash; run curate fsck")
        }
        return data
    }
}

/// Appends objects to a new pack file; `finish` fsyncs and renames it into place.
final class PackWriter {
    let name: String
    private let temporary: String
    private let final: String
    private var fd: Int32
    private(set) var offset = 0
    private(set) var entries: [(ContentHash, ObjectLocation)] = []
    private var buffer: [UInt8] = []

    init(store: ObjectStore) throws(VersioningError) {
        name = "pack-\(UUID().uuidString.lowercased()).pack"
        temporary = store.packsDirectory + "/tmp-" + name
        final = store.packsDirectory + "/" + name
        fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o444)
        guard fd >= 0 else { throw VersioningError(.io, "\(temporary): cannot create: \(String(cString: strerror(errno)))") }
        buffer.reserveCapacity(1 << 20)
    }

    var isEmpty: Bool { entries.isEmpty }

    func append(_ hash: ContentHash, _ bytes: UnsafeRawBufferPointer) throws(VersioningError) {
        entries.append((hash, ObjectLocation(pack: name, offset: offset, length: bytes.count)))
        offset += bytes.count
        if buffer.count + bytes.count > (1 << 20) { try flush() }
        if bytes.count >= (1 << 20) {
            try writeFully(bytes)
        } else {
            buffer.append(contentsOf: bytes)
        }
    }

    private func flush() throws(VersioningError) {
        guard !buffer.isEmpty else { return }
        let pending = buffer
        buffer.removeAll(keepingCapacity: true)
        try withBytes(pending) { (raw) throws(VersioningError) in try writeFully(raw) }
    }

    private func writeFully(_ bytes: UnsafeRawBufferPointer) throws(VersioningError) {
        var done = 0
        while done < bytes.count {
            let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw VersioningError(.io, "\(temporary): write failed: \(String(cString: strerror(errno)))")
            }
            done += n
        }
    }

    /// Flushes, fsyncs and renames the pack into place; returns its entries, or nothing (and no file) when empty.
    func finish() throws(VersioningError) -> [(ContentHash, ObjectLocation)] {
        defer { if fd >= 0 { close(fd); fd = -1 } }
        if entries.isEmpty {
            unlink(temporary)
            return []
        }
        try flush()
        guard fsync(fd) == 0 else { throw VersioningError(.io, "\(temporary): fsync failed: \(String(cString: strerror(errno)))") }
        close(fd)
        fd = -1
        guard rename(temporary, final) == 0 else { throw VersioningError(.io, "\(final): rename failed: \(String(cString: strerror(errno)))") }
        fsyncDirectory((final as NSString).deletingLastPathComponent)
        return entries
    }

    /// Removes the temporary pack (after a failure).
    func abandon() {
        if fd >= 0 { close(fd); fd = -1 }
        unlink(temporary)
    }
}

/// Reads exactly `count` bytes at `offset` unless the file ends first.
func preadFully(_ fd: Int32, _ base: UnsafeMutableRawPointer, _ count: Int, _ offset: off_t) -> Int {
    var done = 0
    while done < count {
        let n = pread(fd, base + done, count - done, offset + off_t(done))
        if n < 0 { if errno == EINTR { continue }; return -1 }
        if n == 0 { break }
        done += n
    }
    return done
}

/// fsync on a directory, so a rename inside it is durable.
func fsyncDirectory(_ path: String) {
    let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if fd >= 0 {
        fsync(fd)
        close(fd)
    }
}

/// Writes a whole file durably: temporary file, fsync, rename, fsync of the folder.
func writeDurably(_ data: Data, to path: String, mode: mode_t = 0o644) throws(VersioningError) {
    let directory = (path as NSString).deletingLastPathComponent
    let temporary = directory + "/.tmp-\(UUID().uuidString.lowercased())"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
    guard fd >= 0 else { throw VersioningError(.io, "\(path): cannot write: \(String(cString: strerror(errno)))") }
    let ok = data.withUnsafeBytes { raw -> Bool in
        var done = 0
        while done < raw.count {
            let n = write(fd, raw.baseAddress! + done, raw.count - done)
            if n < 0 { if errno == EINTR { continue }; return false }
            done += n
        }
        return fsync(fd) == 0
    }
    close(fd)
    guard ok, rename(temporary, path) == 0 else {
        let reason = String(cString: strerror(errno))
        unlink(temporary)
        throw VersioningError(.io, "\(path): cannot write: \(reason)")
    }
    fsyncDirectory(directory)
}
