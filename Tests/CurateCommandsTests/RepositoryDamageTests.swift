import CurateCore
import CurateTestSupport
@testable import CurateVersioning
import Foundation
import GRDB
import Testing

/// The photos with two commits and a tag, made through the CLI.
private func photoHistory() throws -> (ScratchDirectory, String) {
    let scratch = ScratchDirectory()
    let dir = scratch.path + "/photos"
    try FileManager.default.copyItem(atPath: TestFixtures.repoPath("datasets/photos"), toPath: dir)
    try? FileManager.default.removeItem(atPath: dir + "/preview")
    #expect(try CLI.run(["init"], in: dir).exitCode == 0)
    #expect(try CLI.run(["add", "images", "--labels", "labels.coco.json", "--format", "coco"], in: dir).exitCode == 0)
    #expect(try CLI.run(["commit", "-m", "photos", "--author", "ana"], in: dir).exitCode == 0)
    #expect(try CLI.run(["tag", "v1"], in: dir).exitCode == 0)
    let jsonl = #"{"path": "images/chelsea.jpg", "width": 451, "height": 300, "labels": [{"class": "cat", "box": [20, 0, 396, 300]}]}"#
    scratch.write("photos/fix.jsonl", jsonl + "\n")
    #expect(try CLI.run(["add", "--labels", "fix.jsonl", "--format", "jsonl"], in: dir).exitCode == 0)
    #expect(try CLI.run(["commit", "-m", "fix cat", "--author", "bo"], in: dir).exitCode == 0)
    return (scratch, dir)
}

private func packFiles(_ dir: String) throws -> [String: Data] {
    var result: [String: Data] = [:]
    for name in try FileManager.default.contentsOfDirectory(atPath: dir + "/.curate/packs") {
        result[name] = try Data(contentsOf: URL(fileURLWithPath: dir + "/.curate/packs/" + name))
    }
    return result
}

@Suite(.serialized) struct RepositoryDamageTests {
    /// Attack 1: `truncate -s 0 .curate/metadata.sqlite; curate fsck; curate gc` lost the whole history.
    @Test(arguments: ["empty", "missing", "foreign"])
    func aLostDatabaseIsRefusedAndRebuilt(_ how: String) throws {
        let (scratch, dir) = try photoHistory()
        let before = try CLI.run(["log", "--json"], in: dir).stdout
        #expect(try CLI.run(["labels", "export", "--rev", "v1", "--format", "jsonl", "--out", scratch.path + "/before.jsonl"], in: dir).exitCode == 0)
        let db = dir + "/.curate/metadata.sqlite"
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: db + suffix) }
        switch how {
        case "empty": truncate(db, 0)
        case "missing": try FileManager.default.removeItem(atPath: db)
        default:
            try FileManager.default.removeItem(atPath: db)
            let other = try DatabaseQueue(path: db)
            try other.write { try $0.execute(sql: "CREATE TABLE notes (x TEXT)") }
            try other.close()
        }
        let packs = try packFiles(dir)
        let fsck = try CLI.run(["fsck"], in: dir)
        #expect(fsck.exitCode == 65)
        #expect(fsck.stderr.contains("metadata.sqlite: metadata ") && fsck.stderr.contains("the objects in .curate/packs and .curate/objects are intact: run curate fsck --rebuild"))
        let gc = try CLI.run(["gc"], in: dir)
        #expect(gc.exitCode == 65)
        #expect(try packFiles(dir) == packs, "gc deleted packs")
        #expect(try CLI.run(["status"], in: dir).exitCode == 65)

        let rebuild = try CLI.run(["fsck", "--rebuild"], in: dir)
        #expect(rebuild.exitCode == 0, "\(rebuild.stderr)")
        #expect(rebuild.stdout.contains("2 commits") && rebuild.stdout.contains("1 tag(s)"))
        #expect(try CLI.run(["log", "--json"], in: dir).stdout == before)
        #expect(try CLI.run(["labels", "export", "--rev", "v1", "--format", "jsonl", "--out", scratch.path + "/after.jsonl"], in: dir).exitCode == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: scratch.path + "/after.jsonl")) == Data(contentsOf: URL(fileURLWithPath: scratch.path + "/before.jsonl")))
        let status = try CLI.run(["status"], in: dir)
        #expect(status.stdout.hasSuffix("nothing to commit, working tree and labels match\n"), "\(status.stdout)")
        #expect(try CLI.run(["fsck"], in: dir).stdout.hasSuffix("no problems\n"))
        // A sound database is not rebuilt by accident (it holds queues and runs the objects do not).
        let casual = try CLI.run(["fsck", "--rebuild"], in: dir)
        #expect(casual.exitCode == 64 && casual.stderr.contains("passes fsck; --rebuild would drop its uncommitted labels"), "\(casual)")
        // And the repository works on: a new commit on top of the recovered history.
        scratch.write("photos/images/new.txt", "more")
        #expect(try CLI.run(["add", "images"], in: dir).exitCode == 0)
        #expect(try CLI.run(["commit", "-m", "after", "--author", "cy"], in: dir).exitCode == 0)
        #expect(try CLI.run(["log", "-n", "5"], in: dir).stdout.contains("fix cat"))
    }

    /// A database that lost commits (an old backup put back, rows deleted) makes gc refuse: the ref log knows better.
    @Test func gcRefusesWhenTheDatabaseLostCommits() throws {
        let (scratch, dir) = try photoHistory()
        _ = scratch
        let repo = try Repository.open(at: dir)
        try repo.write("attack") { db in
            try db.execute(sql: "DELETE FROM commits")
            try db.execute(sql: "DELETE FROM refs")
        }
        let packs = try packFiles(dir)
        let gc = try CLI.run(["gc"], in: dir)
        #expect(gc.exitCode == 65)
        #expect(gc.stderr.hasPrefix("error: gc refused, nothing was deleted: the ref log names commit "))
        #expect(try packFiles(dir) == packs)
        let fsck = try CLI.run(["fsck"], in: dir)
        #expect(fsck.exitCode == 65 && fsck.stderr.contains("which the metadata lacks"))
        #expect(try CLI.run(["fsck", "--rebuild"], in: dir).exitCode == 0)
        #expect(try CLI.run(["log", "-n", "5"], in: dir).stdout.contains("photos"))
        #expect(try CLI.run(["gc"], in: dir).exitCode == 0)
        #expect(try CLI.run(["fsck"], in: dir).exitCode == 0)
    }

    /// Attack 2: one flipped byte in a label object exported 178 wrong classes with exit 0.
    @Test func aDamagedLabelObjectIsNeverRead() throws {
        let (scratch, dir) = try photoHistory()
        _ = scratch
        let repo = try Repository.open(at: dir)
        let (pack, offset): (String, Int) = try repo.read("locating") { db in
            let row = try #require(try Row.fetchOne(db, sql: """
                SELECT objects.pack, objects.offset FROM labels JOIN objects ON objects.hash = labels.committed
                WHERE labels.path = 'images/chelsea.jpg'
                """))
            return (row[0], row[1])
        }
        let path = dir + "/.curate/packs/" + pack
        chmod(path, 0o644)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[offset + 12] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: path))
        for arguments in [["labels", "export", "--rev", "HEAD", "--format", "jsonl", "--out", scratch.path + "/x.jsonl"], ["diff", "HEAD~1", "HEAD"], ["checkout", "HEAD", "--force"]] {
            let result = try CLI.run(arguments, in: dir)
            #expect(result.exitCode == 65, "\(arguments)")
            #expect(result.stderr.contains("is damaged (its bytes do not match its hash); run curate fsck"), "\(arguments): \(result.stderr)")
        }
    }

    /// Attack 16: fsck said "no problems" on a garbage page and exited 1 on a half-truncated database.
    @Test func fsckChecksTheDatabaseItself() throws {
        let (scratch, dir) = try photoHistory()
        _ = scratch
        let db = dir + "/.curate/metadata.sqlite"
        // Checkpoint so the file holds everything, then damage a page in the middle.
        let repo = try Repository.open(at: dir)
        try repo.metadata.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
        let (page, pageSize): (Int, Int) = try repo.read("locating") { db in
            (try Int.fetchOne(db, sql: "SELECT rootpage FROM sqlite_master WHERE name = 'labels'") ?? 0, try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 0)
        }
        try repo.metadata.close()
        var bytes = try Data(contentsOf: URL(fileURLWithPath: db))
        #expect(page > 1 && bytes.count >= page * pageSize)
        // The table's root page: its cell pointers and cells become garbage.
        for k in 8..<pageSize { bytes[(page - 1) * pageSize + k] = UInt8(truncatingIfNeeded: k &* 37) }
        try bytes.write(to: URL(fileURLWithPath: db))
        let garbage = try CLI.run(["fsck"], in: dir)
        #expect(garbage.exitCode == 65, "\(garbage)")
        #expect(garbage.stderr.contains("metadata.sqlite") && garbage.stderr.contains("damaged"), "\(garbage.stderr)")
        #expect(try CLI.run(["gc"], in: dir).exitCode == 65)

        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: db))
        let half = try CLI.run(["fsck"], in: dir)
        #expect(half.exitCode == 65, "\(half)")
        #expect(half.stderr.contains("metadata.sqlite"))
        #expect(try CLI.run(["fsck", "--rebuild"], in: dir).exitCode == 0)
        #expect(try CLI.run(["fsck"], in: dir).exitCode == 0)
        let kept = try FileManager.default.contentsOfDirectory(atPath: dir + "/.curate").filter { $0.hasPrefix("metadata.sqlite.lost-") }
        #expect(!kept.isEmpty, "the damaged database was not kept")
    }

    @Test func aDamagedFormatFileSaysHowToRestoreIt() throws {
        let (scratch, dir) = try photoHistory()
        _ = scratch
        scratch.write("photos/.curate/FORMAT", "x\u{1}")
        for arguments in [["status"], ["fsck"]] {
            let result = try CLI.run(arguments, in: dir)
            #expect(result.exitCode == 65)
            #expect(result.stderr.contains(".curate/FORMAT is missing or damaged") && result.stderr.contains("echo \(Metadata.formatVersion) > "), "\(result.stderr)")
        }
        scratch.write("photos/.curate/FORMAT", "\(Metadata.formatVersion)\n")
        #expect(try CLI.run(["fsck"], in: dir).exitCode == 0)
    }

    @Test func aHeadWithoutItsCommitIsReported() throws {
        let (scratch, dir) = try photoHistory()
        _ = scratch
        let repo = try Repository.open(at: dir)
        try repo.write("attack") { db in try db.execute(sql: "UPDATE refs SET commit_id = ? WHERE name = 'HEAD'", arguments: [String(repeating: "02d", count: 21) + "0"]) }
        let status = try CLI.run(["status"], in: dir)
        #expect(status.exitCode == 65)
        #expect(status.stderr == "error: HEAD names commit 02d02d02d0, which is not in the metadata database; run curate fsck\n")
    }

    /// A format-1 repository gets its pack indexes on first open, so it too can be rebuilt.
    @Test func formatOneIsUpgradedWithPackIndexes() throws {
        let (scratch, dir) = try photoHistory()
        _ = scratch
        let packs = dir + "/.curate/packs"
        for name in try FileManager.default.contentsOfDirectory(atPath: packs) where name.hasSuffix(".idx") { try FileManager.default.removeItem(atPath: packs + "/" + name) }
        scratch.write("photos/.curate/FORMAT", "1\n")
        #expect(try CLI.run(["status"], in: dir).exitCode == 0)
        #expect(try String(contentsOfFile: dir + "/.curate/FORMAT", encoding: .utf8) == "\(Metadata.formatVersion)\n")
        let names = try FileManager.default.contentsOfDirectory(atPath: packs)
        #expect(names.filter { $0.hasSuffix(".idx") }.count == names.filter { $0.hasSuffix(".pack") }.count)
        truncate(dir + "/.curate/metadata.sqlite", 0)
        #expect(try CLI.run(["fsck", "--rebuild"], in: dir).stdout.contains("2 commits"))
    }
}
