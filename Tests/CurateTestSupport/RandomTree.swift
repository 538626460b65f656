import CurateCore
import Foundation

/// Builds and edits random file trees for versioning tests.
package enum RandomTree {
    /// Writes `count` files with random bytes (unique content) into `root`, spread over a few folders.
    @discardableResult
    package static func populate(_ root: String, count: Int, rng: inout SplitMix64, size: ClosedRange<Int> = 16...2048) -> [String] {
        var paths: [String] = []
        for i in 0..<count {
            let folder = "d\(Int.random(in: 0..<4, using: &rng))/s\(Int.random(in: 0..<3, using: &rng))"
            let path = "\(folder)/f\(i)-\(UInt32.random(in: 0...UInt32.max, using: &rng)).bin"
            write(root + "/" + path, randomBytes(Int.random(in: size, using: &rng), &rng))
            paths.append(path)
        }
        return paths
    }

    /// Random edits: modify, delete, add and rename some files. Returns a description.
    @discardableResult
    package static func edit(_ root: String, rng: inout SplitMix64) -> String {
        var files = list(root)
        var log: [String] = []
        for _ in 0..<Int.random(in: 1...4, using: &rng) where !files.isEmpty {
            let i = Int.random(in: 0..<files.count, using: &rng)
            write(root + "/" + files[i], randomBytes(Int.random(in: 16...2048, using: &rng), &rng))
            log.append("M \(files[i])")
        }
        for _ in 0..<Int.random(in: 0...3, using: &rng) where !files.isEmpty {
            let p = files.remove(at: Int.random(in: 0..<files.count, using: &rng))
            try? FileManager.default.removeItem(atPath: root + "/" + p)
            log.append("D \(p)")
        }
        for _ in 0..<Int.random(in: 0...3, using: &rng) where !files.isEmpty {
            let p = files.remove(at: Int.random(in: 0..<files.count, using: &rng))
            let q = "d\(Int.random(in: 0..<5, using: &rng))/moved-\(UInt32.random(in: 0...UInt32.max, using: &rng)).bin"
            try? FileManager.default.createDirectory(atPath: root + "/" + (q as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try? FileManager.default.moveItem(atPath: root + "/" + p, toPath: root + "/" + q)
            log.append("R \(p) \(q)")
        }
        for k in 0..<Int.random(in: 0...3, using: &rng) {
            let p = "new\(k)-\(UInt32.random(in: 0...UInt32.max, using: &rng))/n.bin"
            write(root + "/" + p, randomBytes(Int.random(in: 16...2048, using: &rng), &rng))
            log.append("A \(p)")
        }
        return log.joined(separator: "; ")
    }

    /// Regular files below `root` (relative, sorted), skipping `.curate` and `.git`.
    package static func list(_ root: String) -> [String] {
        let all = FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? []
        return all.filter { path in
            guard !path.hasPrefix(".curate"), !path.hasPrefix(".git") else { return false }
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: root + "/" + path, isDirectory: &isDirectory) && !isDirectory.boolValue
        }.sorted()
    }

    /// path → bytes for every file below `root`.
    package static func contents(_ root: String) -> [String: Data] {
        Dictionary(uniqueKeysWithValues: list(root).map { ($0, FileManager.default.contents(atPath: root + "/" + $0) ?? Data()) })
    }

    package static func randomBytes(_ count: Int, _ rng: inout SplitMix64) -> Data {
        var data = Data(count: count)
        for i in 0..<count { data[i] = UInt8.random(in: 0...255, using: &rng) }
        return data
    }

    package static func write(_ path: String, _ data: Data) {
        try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: path, contents: data)
    }
}

/// Runs a command line tool and returns its exit code and standard output.
@discardableResult
package func runTool(_ arguments: [String], in directory: String) throws -> (code: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
