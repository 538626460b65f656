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
package enum LinkMode: String, Sendable, CaseIterable, Codable {
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

    /// Reads an object's bytes and checks them against the hash: damaged bytes are never returned.
    func read(_ hash: ContentHash, at location: ObjectLocation) throws(VersioningError) -> Data {
        let path = location.pack.map { packsDirectory + "/" + $0 } ?? loosePath(hash)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw VersioningError(.corrupt, "object \(hash.short()) is missing (\(path): \(String(cString: strerror(errno)))); run curate fsck") }
        defer { close(fd) }
        var data = Data(count: location.length)
        let got = data.withUnsafeMutableBytes { preadFully(fd, $0.baseAddress!, location.length, off_t(location.offset)) }
        guard got == location.length else { throw VersioningError(.corrupt, "object \(hash.short()) is truncated in \(path); run curate fsck") }
        if ContentHash.of(data) != hash {
            throw VersioningError(.corrupt, "object \(hash.short()) in \(path) is damaged (its bytes do not match its hash); run curate fsck")
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
        // The index goes in first: a pack in packs/ always has one, so `fsck --rebuild` can find every object in it.
        try writeDurably(PackIndex.serialize(entries), to: PackIndex.path(forPack: final), mode: 0o444)
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

/// The index beside each pack (`pack-<uuid>.idx`): what the pack holds and where, so that the objects of a
/// repository whose metadata database was lost can be found again (since format 7; see FORMAT.md).
enum PackIndex {
    static let header = "curate-pack-index 1\n"

    static func path(forPack pack: String) -> String {
        (pack.hasSuffix(".pack") ? String(pack.dropLast(5)) : pack) + ".idx"
    }

    static func serialize(_ entries: [(ContentHash, ObjectLocation)]) -> Data {
        var text = header
        for (hash, location) in entries { text += "\(hash.hex) \(location.offset) \(location.length)\n" }
        return Data(text.utf8)
    }

    /// Reads an index; every entry must lie inside a pack of `packSize` bytes.
    static func read(_ path: String, pack: String, packSize: Int) throws(VersioningError) -> [(ContentHash, ObjectLocation)] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw VersioningError(.corrupt, "\(path): cannot read the pack index")
        }
        let text = String(decoding: data, as: UTF8.self)
        guard text.hasPrefix(header) else { throw VersioningError(.corrupt, "\(path): not a pack index") }
        var entries: [(ContentHash, ObjectLocation)] = []
        for line in text.dropFirst(header.count).split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 3, let hash = ContentHash(hex: String(fields[0])), let offset = Int(fields[1]), let length = Int(fields[2]),
                  offset >= 0, length >= 0, offset <= packSize, length <= packSize - offset else {
                throw VersioningError(.corrupt, "\(path): malformed entry '\(line.prefix(80))'")
            }
            entries.append((hash, ObjectLocation(pack: pack, offset: offset, length: length)))
        }
        return entries
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

/// Writes all of `data` to `fd` (retrying on EINTR); false on failure, with errno set.
func writeAll(_ fd: Int32, _ data: Data) -> Bool {
    data.withUnsafeBytes { raw -> Bool in
        var done = 0
        while done < raw.count {
            let n = write(fd, raw.baseAddress! + done, raw.count - done)
            if n < 0 { if errno == EINTR { continue }; return false }
            done += n
        }
        return true
    }
}

/// Writes all of `data` to `fd` (retrying on EINTR) and fsyncs it; false on failure, with errno set.
func writeAllAndSync(_ fd: Int32, _ data: Data) -> Bool {
    writeAll(fd, data) && fsync(fd) == 0
}

/// Writes a whole file durably: temporary file, fsync, rename, fsync of the folder.
func writeDurably(_ data: Data, to path: String, mode: mode_t = 0o644) throws(VersioningError) {
    let directory = (path as NSString).deletingLastPathComponent
    let temporary = directory + "/.tmp-\(UUID().uuidString.lowercased())"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
    guard fd >= 0 else { throw VersioningError(.io, "\(path): cannot write: \(String(cString: strerror(errno)))") }
    let ok = writeAllAndSync(fd, data)
    close(fd)
    guard ok, rename(temporary, path) == 0 else {
        let reason = String(cString: strerror(errno))
        unlink(temporary)
        throw VersioningError(.io, "\(path): cannot write: \(reason)")
    }
    fsyncDirectory(directory)
}

/// The ref log (`.curate/refs.log`, since format 7): every move of HEAD and every new tag, appended and fsynced before
/// the database records it, so `fsck --rebuild` can restore HEAD and the tags. Lines: `<unix seconds> <ref> <old|-> <new>`.
enum RefLog {
    struct Entry: Equatable {
        var name: String
        var old: ContentHash?
        var new: ContentHash
    }

    static func path(_ curateDirectory: String) -> String { curateDirectory + "/refs.log" }

    static func append(_ curateDirectory: String, _ entry: Entry) throws(VersioningError) {
        let path = path(curateDirectory)
        let line = "\(String(format: "%.3f", Date().timeIntervalSince1970)) \(entry.name) \(entry.old?.hex ?? "-") \(entry.new.hex)\n"
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw VersioningError(.io, "\(path): cannot write: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let ok = line.withCString { pointer -> Bool in
            let count = strlen(pointer)
            return write(fd, pointer, count) == count && fsync(fd) == 0
        }
        guard ok else { throw VersioningError(.io, "\(path): cannot write: \(String(cString: strerror(errno)))") }
    }

    /// The entries in order; lines that do not parse (a torn last line after a crash) are skipped.
    static func read(_ curateDirectory: String) -> [Entry] {
        guard let data = FileManager.default.contents(atPath: path(curateDirectory)) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ")
            guard f.count == 4, let new = ContentHash(hex: String(f[3])) else { return nil }
            return Entry(name: String(f[1]), old: ContentHash(hex: String(f[2])), new: new)
        }
    }
}
