import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where a remote's keys live: an S3-compatible bucket or a folder. Keys are `/`-separated, relative to the
/// remote's prefix. Every method may be called from several threads at once.
package protocol RemoteStorage: Sendable {
    /// The remote as users name it (`s3://bucket/prefix`, `/srv/datasets/photos`), for messages.
    var location: String { get }
    /// The bytes of a key (or a byte range of it, inclusive), with its entity tag; nil when absent.
    func get(_ key: String, range: ClosedRange<Int>?) throws(RemoteError) -> (data: Data, etag: String)?
    /// The size of a key, nil when absent.
    func size(_ key: String) throws(RemoteError) -> Int?
    /// Writes a key; with a condition, fails with `.conflict` when it does not hold. Returns the new entity tag.
    @discardableResult
    func put(_ key: String, _ data: Data, condition: S3Client.Condition) throws(RemoteError) -> String
    /// Writes a large key in parts read by `part(range)`, resuming an earlier attempt recorded in `resumeFile`;
    /// `sent` is told each part's size as it lands.
    func putLarge(_ key: String, size: Int, resumeFile: String, part: (Range<Int>) throws(RemoteError) -> Data,
                  sent: (Int) -> Void) throws(RemoteError)
    /// Keys under a prefix.
    func list(prefix: String) throws(RemoteError) -> [String]
}

/// A remote in an S3-compatible bucket, under a key prefix.
package struct S3Storage: RemoteStorage {
    package var client: S3Client
    package var prefix: String
    /// Objects of this size or more go up in parts (multipart upload).
    package var partSize = 16 << 20

    package init(client: S3Client, prefix: String) {
        self.client = client
        self.prefix = prefix.isEmpty || prefix.hasSuffix("/") ? prefix : prefix + "/"
    }

    package var location: String { "s3://\(client.bucket)/\(prefix)" }

    func full(_ key: String) -> String { prefix + key }

    package func get(_ key: String, range: ClosedRange<Int>?) throws(RemoteError) -> (data: Data, etag: String)? {
        try client.get(full(key), range: range)
    }

    package func size(_ key: String) throws(RemoteError) -> Int? { try client.head(full(key))?.size }

    package func put(_ key: String, _ data: Data, condition: S3Client.Condition) throws(RemoteError) -> String {
        try client.put(full(key), data, condition: condition)
    }

    package func putLarge(_ key: String, size: Int, resumeFile: String, part: (Range<Int>) throws(RemoteError) -> Data,
                          sent: (Int) -> Void) throws(RemoteError) {
        let key = full(key)
        // An upload started before (and its parts) is resumed, not started again.
        var uploadID: String?
        var done: [Int: (etag: String, size: Int)] = [:]
        if let saved = try? String(contentsOfFile: resumeFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), !saved.isEmpty,
           let parts = try client.listParts(key, uploadID: saved) {
            uploadID = saved
            done = parts
        }
        let id: String
        if let uploadID { id = uploadID } else {
            id = try client.createMultipartUpload(key)
            do { try Data((id + "\n").utf8).write(to: URL(fileURLWithPath: resumeFile), options: .atomic) } catch {
                throw RemoteError(.io, "\(resumeFile): cannot record the upload: \(error.localizedDescription)")
            }
        }
        var etags: [(number: Int, etag: String)] = []
        var number = 1
        var offset = 0
        while offset < size {
            let end = min(size, offset + partSize)
            if let previous = done[number], previous.size == end - offset {
                etags.append((number, previous.etag))
            } else {
                etags.append((number, try client.uploadPart(key, uploadID: id, number: number, part(offset..<end))))
            }
            sent(end - offset)
            offset = end
            number += 1
        }
        try client.completeMultipartUpload(key, uploadID: id, parts: etags)
        unlink(resumeFile)
    }

    package func list(prefix sub: String) throws(RemoteError) -> [String] {
        try client.list(prefix: full(sub)).map { String($0.key.dropFirst(prefix.count)) }
    }
}

/// A remote in a folder (a mounted share, another disk): the same layout as a bucket, written with temporary files,
/// fsync and rename; a conditional write holds an exclusive `flock` on the folder's `.lock` while it compares.
package struct FolderStorage: RemoteStorage {
    package var root: String

    package init(root: String) { self.root = root.hasSuffix("/") && root.count > 1 ? String(root.dropLast()) : root }

    package var location: String { root }

    func path(_ key: String) -> String { root + "/" + key }

    package func get(_ key: String, range: ClosedRange<Int>?) throws(RemoteError) -> (data: Data, etag: String)? {
        let file = path(key)
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw RemoteError(errno == EACCES ? .denied : .io, "\(file): cannot read: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var st = stat()
        fstat(fd, &st)
        let start = range?.lowerBound ?? 0
        let count = range.map { min($0.count, max(0, Int(st.st_size) - start)) } ?? Int(st.st_size)
        var data = Data(count: count)
        let got = data.withUnsafeMutableBytes { raw -> Int in
            guard let base = raw.baseAddress else { return 0 }
            var done = 0
            while done < count {
                let n = pread(fd, base + done, count - done, off_t(start + done))
                if n < 0 { if errno == EINTR { continue }; return -1 }
                if n == 0 { break }
                done += n
            }
            return done
        }
        guard got == count else { throw RemoteError(.io, "\(file): read failed") }
        return (data, range == nil ? SigV4.sha256(data) : "")
    }

    package func size(_ key: String) throws(RemoteError) -> Int? {
        var st = stat()
        guard stat(path(key), &st) == 0 else { return nil }
        return Int(st.st_size)
    }

    package func put(_ key: String, _ data: Data, condition: S3Client.Condition) throws(RemoteError) -> String {
        let file = path(key)
        let folder = (file as NSString).deletingLastPathComponent
        do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
            throw RemoteError(.io, "\(folder): cannot create: \(error.localizedDescription)")
        }
        var lock: Int32 = -1
        if condition != .none {
            lock = open(root + "/.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard lock >= 0, flock(lock, LOCK_EX) == 0 else { throw RemoteError(.io, "\(root)/.lock: cannot lock: \(String(cString: strerror(errno)))") }
        }
        defer { if lock >= 0 { flock(lock, LOCK_UN); close(lock) } }
        switch condition {
        case .none: break
        case .absent:
            if access(file, F_OK) == 0 { throw RemoteError(.conflict, "\(file) exists on the remote already") }
        case .matches(let etag):
            guard let current = try get(key, range: nil), current.etag == etag else {
                throw RemoteError(.conflict, "\(file) changed on the remote since it was read")
            }
        }
        let temporary = folder + "/.tmp-\(UUID().uuidString.lowercased())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RemoteError(errno == EACCES ? .denied : .io, "\(temporary): cannot write: \(String(cString: strerror(errno)))") }
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
        guard ok, rename(temporary, file) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw RemoteError(.io, "\(file): cannot write: \(reason)")
        }
        let dir = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 { fsync(dir); close(dir) }
        return SigV4.sha256(data)
    }

    package func putLarge(_ key: String, size: Int, resumeFile: String, part: (Range<Int>) throws(RemoteError) -> Data,
                          sent: (Int) -> Void) throws(RemoteError) {
        var data = Data()
        data.reserveCapacity(size)
        var offset = 0
        while offset < size {
            let end = min(size, offset + (16 << 20))
            data.append(try part(offset..<end))
            sent(end - offset)
            offset = end
        }
        _ = try put(key, data, condition: .none)
    }

    package func list(prefix: String) throws(RemoteError) -> [String] {
        var result: [String] = []
        let start = path(prefix)
        let base = (start as NSString).deletingLastPathComponent
        guard let walker = FileManager.default.enumerator(atPath: base) else { return [] }
        let relativeBase = String(base.dropFirst(root.count)).drop(while: { $0 == "/" })
        while let item = walker.nextObject() as? String {
            let key = relativeBase.isEmpty ? item : relativeBase + "/" + item
            var isDirectory: ObjCBool = false
            guard key.hasPrefix(prefix), !(key as NSString).lastPathComponent.hasPrefix(".tmp-"),
                  FileManager.default.fileExists(atPath: path(key), isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            result.append(key)
        }
        return result.sorted()
    }
}
