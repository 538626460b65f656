import Crypto
import Foundation

/// One slice of a batch job split across machines: shard `index` of `count` (0-based).
///
/// Items go to shards by a stable hash of their path (FNV-1a, mixed, then Lamping and Veach's jump consistent
/// hash), so the assignment depends on the path and `count` alone: never on the order of the inputs, on other
/// items, or on earlier runs with another count. Every item belongs to exactly one shard; none is padded or repeated.
///
/// ```swift
/// let shard = try Shard.resolve(flag: "2/7", shards: nil, environment: [:])
/// let mine = paths.filter(shard.owns)
/// ```
package struct Shard: Sendable, Hashable, Codable, CustomStringConvertible {
    package let index: Int
    package let count: Int

    /// - Precondition: `0 <= index < count`.
    package init(index: Int, count: Int) {
        precondition(count >= 1 && (0..<count).contains(index))
        self.index = index
        self.count = count
    }

    /// The part folder's name: `shard-3-of-7`.
    package var name: String { "shard-\(index)-of-\(count)" }
    package var description: String { "shard \(index) of \(count)" }

    /// Whether the item at `path` belongs to this shard.
    @inline(__always) package func owns(_ path: String) -> Bool { count == 1 || Self.bucket(path, count: count) == index }

    /// The shard (0..<count) an item path belongs to.
    package static func bucket(_ path: String, count: Int) -> Int {
        var key: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in path.utf8 { key = (key ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        // SplitMix64's finaliser, so that paths differing only in their last bytes spread over every shard.
        key = (key ^ (key >> 30)) &* 0xBF58_476D_1CE4_E5B9
        key = (key ^ (key >> 27)) &* 0x94D0_49BB_1331_11EB
        key ^= key >> 31
        // Jump consistent hash (Lamping and Veach, 2014).
        var bucket: Int64 = -1, next: Int64 = 0
        while next < Int64(count) {
            bucket = next
            key = key &* 2_862_933_555_777_941_757 &+ 1
            next = Int64(Double(bucket + 1) * (Double(Int64(1) << 31) / Double((key >> 33) + 1)))
        }
        return Int(bucket)
    }

    /// Parses `I/N` (0-based index, count).
    package static func parse(_ text: String) throws(ShardError) -> Shard {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]), count >= 1, (0..<count).contains(index) else {
            throw ShardError("--shard \(text): expected I/N with 0 ≤ I < N, e.g. --shard 0/4", kind: .usage)
        }
        return Shard(index: index, count: count)
    }

    /// The shard a run is: `--shard I/N` when given, else the scheduler's variables — a Kubernetes Indexed Job's
    /// `JOB_COMPLETION_INDEX` (with the count from `--shards N` or `CURATE_SHARDS`, which Kubernetes does not
    /// export), or a Slurm job array's `SLURM_ARRAY_TASK_ID` − `SLURM_ARRAY_TASK_MIN` of `SLURM_ARRAY_TASK_COUNT`.
    package static func resolve(flag: String?, shards: Int?, environment: [String: String]) throws(ShardError) -> Shard {
        if let flag {
            let shard = try parse(flag)
            if let shards, shards != shard.count { throw ShardError("--shard \(flag) and --shards \(shards) disagree on the count", kind: .usage) }
            return shard
        }
        func number(_ name: String) throws(ShardError) -> Int? {
            guard let text = environment[name] else { return nil }
            guard let value = Int(text.trimmingCharacters(in: .whitespaces)), value >= 0 else {
                throw ShardError("\(name)=\(text): expected a whole number ≥ 0", kind: .usage)
            }
            return value
        }
        if let index = try number("JOB_COMPLETION_INDEX") {
            let fromEnvironment = try number("CURATE_SHARDS")
            guard let count = shards ?? fromEnvironment else {
                throw ShardError("JOB_COMPLETION_INDEX=\(index) is set, but not the shard count: pass --shards N or set CURATE_SHARDS (Kubernetes does not export the Job's completions)", kind: .usage)
            }
            guard count >= 1, index < count else { throw ShardError("JOB_COMPLETION_INDEX=\(index) is not below the shard count \(count)", kind: .usage) }
            return Shard(index: index, count: count)
        }
        if let id = try number("SLURM_ARRAY_TASK_ID") {
            let low = try number("SLURM_ARRAY_TASK_MIN") ?? 0
            guard let count = try number("SLURM_ARRAY_TASK_COUNT") else {
                throw ShardError("SLURM_ARRAY_TASK_ID=\(id) is set without SLURM_ARRAY_TASK_COUNT; run inside an sbatch --array job, or pass --shard I/N", kind: .usage)
            }
            if let step = try number("SLURM_ARRAY_TASK_STEP"), step != 1 {
                throw ShardError("SLURM_ARRAY_TASK_STEP=\(step): shard arrays need consecutive task ids (--array=0-\(max(count, 1) - 1), no step)", kind: .usage)
            }
            if let shards, shards != count { throw ShardError("--shards \(shards) disagrees with SLURM_ARRAY_TASK_COUNT=\(count)", kind: .usage) }
            guard count >= 1, id >= low, id - low < count else {
                throw ShardError("SLURM_ARRAY_TASK_ID=\(id) is outside the array (SLURM_ARRAY_TASK_MIN=\(low), SLURM_ARRAY_TASK_COUNT=\(count))", kind: .usage)
            }
            return Shard(index: id - low, count: count)
        }
        throw ShardError("a sharded run (--parts) needs its shard: --shard I/N, or a scheduler's index (JOB_COMPLETION_INDEX with --shards N, or a Slurm array's SLURM_ARRAY_TASK_ID)", kind: .usage)
    }
}

/// Why a shard could not be run, written or merged.
package struct ShardError: CurateError {
    package var message: String
    package var kind: FailureKind
    package init(_ message: String, kind: FailureKind = .invalidData) { self.message = message; self.kind = kind }
    package var description: String { message }
}

/// What a shard's part says about itself: which shard of how many, of which verb, made from which inputs with
/// which parameters by which tool, and the digest of each of its files. `curate merge` joins only parts whose
/// verb, count, inputs, parameters and tool agree, one per shard.
package struct ShardManifest: Codable, Sendable, Equatable {
    package var verb: String
    package var shard: Int
    package var count: Int
    /// SHA-256 over the inputs' contents (see ``ShardDigest``).
    package var inputs: String
    /// SHA-256 over the parameters that shape the result.
    package var parameters: String
    package var tool: String
    /// The items this shard handled.
    package var items: Int
    /// Each data file of the part and its SHA-256.
    package var files: [String: String]

    package init(verb: String, shard: Shard, inputs: String, parameters: String, tool: String, items: Int = 0, files: [String: String] = [:]) {
        (self.verb, self.shard, self.count, self.inputs, self.parameters, self.tool, self.items, self.files) =
            (verb, shard.index, shard.count, inputs, parameters, tool, items, files)
    }
}

/// SHA-256 digests of a sharded run's inputs and parameters, for the manifest.
package struct ShardDigest {
    private var hasher = SHA256()
    package init() {}

    /// Adds a labelled value (a parameter, a revision's commit id).
    package mutating func add(_ name: String, _ value: String) {
        hasher.update(data: Data("\(name)=\(value.utf8.count):\(value)\n".utf8))
    }

    /// Adds a file's contents (not its path, which differs between machines).
    package mutating func add(file path: String) throws(ShardError) {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ShardError("\(path): cannot read the file", kind: .notFound) }
        defer { try? handle.close() }
        add("file", "")
        do {
            while let chunk = try handle.read(upToCount: 1 << 22), !chunk.isEmpty { hasher.update(data: chunk) }
        } catch {
            throw ShardError("\(path): cannot read the file: \(error.localizedDescription)", kind: .unreadable)
        }
    }

    /// Adds a file by its name and size only (-1 when it cannot be read): for images, whose contents every shard
    /// would otherwise have to read.
    package mutating func add(name: String, sizeOf path: String) {
        add(name, "\((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? -1)")
    }

    package var hex: String { Self.hex(hasher.finalize()) }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 { digest.map { String(format: "%02x", $0) }.joined() }
    static func of(_ data: Data) -> String { hex(SHA256.hash(data: data)) }
}

/// A shard's part as found on disk.
package struct ShardPart: Sendable {
    /// The part's folder.
    package var folder: String
    package var manifest: ShardManifest

    /// A data file of the part, checked against the manifest's digest.
    package func data(_ name: String) throws(ShardError) -> Data {
        let path = folder + "/" + name
        guard let expected = manifest.files[name] else { throw ShardError("\(folder): the manifest lists no \(name)") }
        let data: Data
        do { data = try InputFile.read(path) } catch { throw ShardError("\(path): \(error)", kind: error.kind) }
        guard ShardDigest.of(data) == expected else {
            throw ShardError("\(path): its contents do not match the manifest's digest (a damaged or partly copied part); run \(manifest.verb) for shard \(manifest.shard) of \(manifest.count) again")
        }
        return data
    }
}

/// Writing parts and gathering a complete, consistent set of them.
package enum ShardParts {
    /// Writes a shard's part as `parts/shard-I-of-N/`: `fill` puts files into a fresh folder, which gets its manifest
    /// (with the digest of each file in `files`) and then takes the part's name in one rename, replacing what an
    /// earlier run of the same shard left. A part is therefore whole or absent, never partial.
    /// - Returns: the part's folder.
    @discardableResult
    package static func write(_ manifest: ShardManifest, to parts: String, fill: (_ folder: String) throws -> ShardOutput) throws -> String {
        let fm = FileManager.default
        let shard = Shard(index: manifest.shard, count: manifest.count)
        let final = parts + "/" + shard.name
        let temporary = parts + "/.\(shard.name).\(ProcessInfo.processInfo.processIdentifier).tmp"
        do {
            try fm.createDirectory(atPath: parts, withIntermediateDirectories: true)
            try? fm.removeItem(atPath: temporary)
            try fm.createDirectory(atPath: temporary, withIntermediateDirectories: false)
        } catch {
            throw ShardError("\(parts): cannot create the part's folder: \(error.localizedDescription)", kind: .internal)
        }
        do {
            var manifest = manifest
            let output = try fill(temporary)
            manifest.items = output.items
            for (name, data) in output.files {
                try data.write(to: URL(fileURLWithPath: temporary + "/" + name))
                manifest.files[name] = ShardDigest.of(data)
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            try encoder.encode(manifest).write(to: URL(fileURLWithPath: temporary + "/manifest.json"))
            if fm.fileExists(atPath: final) {
                let old = parts + "/.\(shard.name).\(ProcessInfo.processInfo.processIdentifier).old"
                try? fm.removeItem(atPath: old)
                try fm.moveItem(atPath: final, toPath: old)
                try fm.moveItem(atPath: temporary, toPath: final)
                try? fm.removeItem(atPath: old)
            } else {
                try fm.moveItem(atPath: temporary, toPath: final)
            }
        } catch {
            try? fm.removeItem(atPath: temporary)
            if let error = error as? any CurateError { throw error }
            throw ShardError("\(final): cannot write the part: \(error.localizedDescription)", kind: .internal)
        }
        return final
    }

    /// The parts under `paths` — each a part's folder or a folder of parts — checked to be one complete run: the
    /// same verb, shard count, inputs, parameters and tool, every shard exactly once.
    /// - Returns: the parts, by shard.
    package static func collect(_ paths: [String]) throws(ShardError) -> [ShardPart] {
        let fm = FileManager.default
        var found: [ShardPart] = []
        for path in paths {
            var isFolder: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue else { throw ShardError("\(path): no such folder of parts", kind: .notFound) }
            if fm.fileExists(atPath: path + "/manifest.json") {
                found.append(try part(path))
                continue
            }
            let names = ((try? fm.contentsOfDirectory(atPath: path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
            let folders = names.filter { fm.fileExists(atPath: path + "/" + $0 + "/manifest.json") }
            guard !folders.isEmpty else {
                throw ShardError("\(path): holds no part (no shard-I-of-N folder with a manifest.json); give the --parts folder of a sharded run", kind: .notFound)
            }
            for name in folders { found.append(try part(path + "/" + name)) }
        }
        let first = found[0]
        for part in found.dropFirst() {
            let a = first.manifest, b = part.manifest
            func refuse(_ what: String) -> ShardError { ShardError("\(part.folder): \(what) than \(first.folder); merge the parts of one run") }
            if a.verb != b.verb { throw refuse("is a part of curate \(b.verb), not \(a.verb), so of another run") }
            if a.count != b.count { throw ShardError("\(part.folder): is one of \(b.count) shards, \(first.folder) one of \(a.count); merge the parts of one run") }
            if a.inputs != b.inputs { throw refuse("was made from other inputs (digest \(b.inputs.prefix(12)) vs \(a.inputs.prefix(12)))") }
            if a.parameters != b.parameters { throw refuse("was made with other parameters (digest \(b.parameters.prefix(12)) vs \(a.parameters.prefix(12)))") }
            if a.tool != b.tool { throw refuse("was made by another tool (\(b.tool) vs \(a.tool))") }
        }
        var byShard: [Int: ShardPart] = [:]
        for part in found {
            if let other = byShard[part.manifest.shard] {
                throw ShardError("shard \(part.manifest.shard) of \(part.manifest.count) appears twice: \(other.folder) and \(part.folder); keep one")
            }
            byShard[part.manifest.shard] = part
        }
        let missing = (0..<first.manifest.count).filter { byShard[$0] == nil }
        if !missing.isEmpty {
            let names = missing.prefix(5).map(String.init).joined(separator: ", ") + (missing.count > 5 ? ", …" : "")
            throw ShardError("\(paths.joined(separator: " ")): shard\(missing.count == 1 ? "" : "s") \(names) of \(first.manifest.count) missing (\(found.count) of \(first.manifest.count) parts found); run \(missing.count == 1 ? "it" : "them") and merge again", kind: .notFound)
        }
        return (0..<first.manifest.count).map { byShard[$0]! }
    }

    static func part(_ folder: String) throws(ShardError) -> ShardPart {
        let path = folder + "/manifest.json"
        let manifest: ShardManifest
        do { manifest = try JSONDecoder().decode(ShardManifest.self, from: try InputFile.read(path, limit: 1 << 24)) } catch {
            throw ShardError("\(path): not a shard manifest (\(error))")
        }
        guard manifest.count >= 1, (0..<manifest.count).contains(manifest.shard) else {
            throw ShardError("\(path): shard \(manifest.shard) of \(manifest.count) is not a shard")
        }
        return ShardPart(folder: folder, manifest: manifest)
    }
}

/// What one shard of a verb produced: the part's data files (the manifest is added when it is written) and how
/// many items it handled.
package struct ShardOutput: Sendable {
    package var items: Int
    package var files: [String: Data]
    package init(items: Int, files: [String: Data]) { self.items = items; self.files = files }
}

/// Flat binary columns for parts (little-endian, as this machine and every x86-64 and arm64 one).
package enum ShardColumns {
    package static func data<T: BitwiseCopyable>(_ values: [T]) -> Data { values.withUnsafeBytes { Data($0) } }

    package static func values<T: BitwiseCopyable>(_ data: Data, as _: T.Type, file: String) throws(ShardError) -> [T] {
        guard data.count % MemoryLayout<T>.stride == 0 else { throw ShardError("\(file): \(data.count) bytes do not make whole values") }
        return data.withUnsafeBytes { raw in
            [T](unsafeUninitializedCapacity: data.count / MemoryLayout<T>.stride) { buffer, count in
                count = data.count / MemoryLayout<T>.stride
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: raw)
            }
        }
    }

    /// Strings joined by NUL (which no path holds).
    package static func data(strings: [String]) -> Data { Data(strings.joined(separator: "\0").utf8) }

    package static func strings(_ data: Data) -> [String] {
        data.isEmpty ? [] : data.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    }
}
