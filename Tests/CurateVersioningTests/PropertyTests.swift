import CurateCore
import CurateTestSupport
@testable import CurateVersioning
import Foundation
import PropertyBased
import Testing

/// Properties over random trees and random edits. Each case is built from one generated seed; a failure prints
/// the PropertyBased seed that reproduces it (add `.fixedSeed(...)` to the test to replay it).
@Suite struct VersioningPropertyTests {
    @Test
    func commitThenCheckoutGivesBackTheSameBytes() async {
        await propertyCheck(count: 12, input: Gen.uint64(in: 0...UInt64.max)) { seed in
            var rng = SplitMix64(seed: seed)
            let scratch = ScratchDirectory()
            RandomTree.populate(scratch.path + "/data", count: Int.random(in: 1...40, using: &rng), rng: &rng)
            let repo = try! Repository.initialize(at: scratch.path)
            _ = try! repo.add([scratch.path])
            let first = try! repo.commit(message: "a", author: "t")
            let before = RandomTree.contents(scratch.path)
            RandomTree.edit(scratch.path, rng: &rng)
            let second = try? repo.commit(message: "b", author: "t")
            let after = RandomTree.contents(scratch.path)
            // Each version checks out to exactly its bytes.
            let out = ScratchDirectory()
            _ = try! repo.checkout(first.id.hex, to: out.path + "/1")
            #expect(RandomTree.contents(out.path + "/1") == before)
            if let second {
                _ = try! repo.checkout(second.id.hex, to: out.path + "/2")
                #expect(RandomTree.contents(out.path + "/2") == after)
                // And in place.
                _ = try! repo.checkout(first.id.hex, force: true)
                #expect(RandomTree.contents(scratch.path) == before)
                #expect(try! repo.status().isClean == false)
            }
            #expect(try! repo.fsck().isHealthy)
        }
    }

    @Test
    func diffAppliedToAGivesB() async {
        await propertyCheck(count: 12, input: Gen.uint64(in: 0...UInt64.max)) { seed in
            var rng = SplitMix64(seed: seed)
            let scratch = ScratchDirectory()
            RandomTree.populate(scratch.path + "/data", count: Int.random(in: 2...40, using: &rng), rng: &rng)
            let repo = try! Repository.initialize(at: scratch.path)
            _ = try! repo.add([scratch.path])
            let a = try! repo.commit(message: "a", author: "t")
            RandomTree.edit(scratch.path, rng: &rng)
            guard let b = try? repo.commit(message: "b", author: "t") else { return }
            let diff = try! repo.diff(from: a.id.hex, to: b.id.hex)
            let out = ScratchDirectory()
            _ = try! repo.checkout(a.id.hex, to: out.path + "/a")
            _ = try! repo.checkout(b.id.hex, to: out.path + "/b")
            // Apply the diff to A's files, taking new contents from B.
            var files = RandomTree.contents(out.path + "/a")
            let target = RandomTree.contents(out.path + "/b")
            for path in diff.removed { files[path] = nil }
            for rename in diff.renamed { files[rename.to] = files.removeValue(forKey: rename.from) }
            for path in diff.added + diff.modified { files[path] = target[path] }
            #expect(files == target)
        }
    }

    @Test func fileDiffMatchesGit() throws {
        var rng = SplitMix64(seed: 20261126)
        for round in 0..<6 {
            let scratch = ScratchDirectory()
            let root = scratch.path
            scratch.write(".gitignore", ".curate/\n")
            RandomTree.populate(root + "/data", count: 30, rng: &rng)
            #expect(try runTool(["git", "init", "-q"], in: root).code == 0)
            for setting in [["user.email", "t@example.com"], ["user.name", "t"], ["core.quotepath", "off"]] {
                try runTool(["git", "config"] + setting, in: root)
            }
            try runTool(["git", "add", "-A"], in: root)
            try runTool(["git", "commit", "-q", "-m", "a"], in: root)
            let repo = try Repository.initialize(at: root)
            _ = try repo.add([root])
            let a = try repo.commit(message: "a", author: "t")
            let edits = RandomTree.edit(root, rng: &rng)
            try runTool(["git", "add", "-A"], in: root)
            try runTool(["git", "commit", "-q", "-m", "b"], in: root)
            let b = try repo.commit(message: "b", author: "t")
            let git = try runTool(["git", "diff", "--name-status", "-M", "HEAD~1", "HEAD"], in: root).output
            var expected: [String] = []
            for line in git.split(separator: "\n") {
                let f = line.split(separator: "\t").map(String.init)
                expected.append(f[0].hasPrefix("R") ? "R \(f[1]) \(f[2])" : "\(f[0]) \(f[1])")
            }
            let diff = try repo.diff(from: a.id.hex, to: b.id.hex)
            var ours = diff.added.map { "A \($0)" } + diff.removed.map { "D \($0)" } + diff.modified.map { "M \($0)" }
            ours += diff.renamed.map { "R \($0.from) \($0.to)" }
            #expect(ours.sorted() == expected.sorted(), "round \(round): \(edits)")
        }
    }
}
