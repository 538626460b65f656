import CurateCore
import CurateTestSupport
@testable import CurateVersioning
import Foundation
import Testing

/// The working-tree walk, which splits sub-folders over both cores: the same rows, order and first error as a
/// walk of one folder after another.
@Suite struct WorkingTreeTests {
    static func make(_ root: String, _ files: [String]) {
        for file in files {
            let path = root + "/" + file
            try! FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: path, contents: Data(file.utf8))
        }
    }

    @Test func scansInByteOrderAcrossFolders() throws {
        let scratch = ScratchDirectory()
        // Byte order is not folder-by-folder order: "a-b" and "a.b" sort before the folder "a" ('-' and '.' are
        // below '/').
        var files = ["top", "data/a-b", "data/a.b", "data/a/x", "data/a/y/z", "data/ab/1", "data/b", "data/é/q", "data/Z/q", "only/one/deep/f"]
        for i in 0..<60 { files.append("data/d\(i % 7)/s\(i % 3)/f\(i)") }
        Self.make(scratch.path, files)
        let table = try WorkingTree(root: scratch.path).sortedScan(roots: [""], expected: 0)
        let paths = (0..<table.count).map { table.path($0) }
        #expect(paths == files.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        // Rows carry their own file's size.
        for i in 0..<table.count { #expect(table.rows[i].stat.size == paths[i].utf8.count) }
        // Several roots, and a root that is one folder holding the rest.
        let two = try WorkingTree(root: scratch.path).sortedScan(roots: ["only", "data"], expected: 0)
        #expect((0..<two.count).map { two.path($0) } == paths.filter { $0.hasPrefix("data/") || $0.hasPrefix("only/") })
    }

    @Test func reportsTheFirstBadNameInOrder() throws {
        let scratch = ScratchDirectory()
        Self.make(scratch.path, ["data/a/ok", "data/b/ok", "data/c/ok", "data/d/ok"])
        Self.make(scratch.path, ["data/d/bad\nname", "data/b/deep/bad\tname"])
        for _ in 0..<5 {
            #expect(throws: VersioningError.self) { try WorkingTree(root: scratch.path).sortedScan(roots: ["data"], expected: 0) }
            do {
                _ = try WorkingTree(root: scratch.path).sortedScan(roots: ["data"], expected: 0)
            } catch {
                #expect(error.description.contains("data/b/deep/bad\\x09name"), "\(error.description)")
            }
        }
    }
}
