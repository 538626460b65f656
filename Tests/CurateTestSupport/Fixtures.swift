import Crypto
import Foundation

/// Locates committed fixtures and makes scratch folders for tests.
package enum TestFixtures {
    /// The package root (the folder holding Package.swift).
    package static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url
    }()

    /// `Tests/<module>Tests/Fixtures/<relative>`.
    package static func path(_ module: String, _ relative: String) -> String {
        packageRoot.appendingPathComponent("Tests/\(module)Tests/Fixtures/\(relative)").path
    }

    /// A file under the package root, e.g. `datasets/photos/labels.coco.json`.
    package static func repoPath(_ relative: String) -> String {
        packageRoot.appendingPathComponent(relative).path
    }

    /// The bytes of a file; fails the test run loudly if missing.
    package static func bytes(_ path: String) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            preconditionFailure("missing fixture \(path)")
        }
        return Array(data)
    }

    /// Files in a folder with the given extension, sorted by name.
    package static func files(in folder: String, ext: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { $0.hasSuffix("." + ext) }.sorted().map { folder + "/" + $0 }
    }
}

/// A temporary directory removed when the value is released.
package final class ScratchDirectory: Sendable {
    /// The directory's path.
    package let path: String

    /// Makes a fresh, empty directory under the system temporary folder.
    package init() {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("curate-test-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        path = url.path
    }

    /// `path/relative`, with parent folders created.
    package func file(_ relative: String) -> String {
        let full = path + "/" + relative
        try? FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        return full
    }

    /// Writes text to `relative` and returns its full path.
    @discardableResult
    package func write(_ relative: String, _ text: String) -> String {
        let full = file(relative)
        _ = FileManager.default.createFile(atPath: full, contents: Data(text.utf8))
        return full
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// SHA-256 of bytes as lowercase hex.
package func sha256Hex(_ bytes: [UInt8]) -> String {
    SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
}

extension ScratchDirectory {
    /// Copies the first `count` bundled digits (in labels.csv order: classes 0, 1, …, 9, 0, …) into this directory
    /// under their own paths and returns them with their labels.
    package func copyDigits(_ count: Int) throws -> [(path: String, label: String)] {
        let rows = try String(contentsOfFile: TestFixtures.repoPath("datasets/digits/labels.csv"), encoding: .utf8)
            .split(separator: "\n").dropFirst().prefix(count).map { $0.split(separator: ",").map(String.init) }
        for row in rows {
            try FileManager.default.createDirectory(atPath: path + "/" + (row[0] as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: TestFixtures.repoPath("datasets/digits/" + row[0]), toPath: path + "/" + row[0])
        }
        return rows.map { ($0[0], $0[1]) }
    }
}
