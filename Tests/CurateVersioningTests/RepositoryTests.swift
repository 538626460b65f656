import CurateCore
import CurateTestSupport
@testable import CurateVersioning
import Foundation
import GRDB
import Testing

/// A scratch folder holding a copy of the photo dataset, made into a repository.
func photoRepository() throws -> (ScratchDirectory, Repository) {
    let scratch = ScratchDirectory()
    try FileManager.default.copyItem(atPath: TestFixtures.repoPath("datasets/photos/images"), toPath: scratch.path + "/images")
    try FileManager.default.copyItem(atPath: TestFixtures.repoPath("datasets/photos/labels.coco.json"), toPath: scratch.path + "/labels.coco.json")
    let repo = try Repository.initialize(at: scratch.path)
    return (scratch, repo)
}

@Suite struct RepositoryTests {
    @Test func addCommitStatusLogTag() throws {
        let (scratch, repo) = try photoRepository()
        #expect(throws: VersioningError.self) { try Repository.initialize(at: scratch.path) }
        let report = try repo.add([scratch.path + "/images"], labels: LabelImport(path: scratch.path + "/labels.coco.json", format: .coco))
        #expect(report.files == 14 && report.hashed == 14 && report.storedObjects == 14 && report.labeledItems == 14)
        #expect(try repo.status().added.count == 14)
        let first = try repo.commit(message: "first", author: "ana")
        #expect(try repo.status().isClean)
        #expect(throws: VersioningError.self) { try repo.commit(message: "again", author: "ana") }

        // Edit: modify, rename, delete, add.
        let images = scratch.path + "/images/"
        try Data("changed".utf8).write(to: URL(fileURLWithPath: images + "moon.png"))
        try FileManager.default.moveItem(atPath: images + "coins.png", toPath: images + "coins-renamed.png")
        try FileManager.default.removeItem(atPath: images + "grass.png")
        try FileManager.default.copyItem(atPath: images + "brick.png", toPath: images + "brick-copy.png")
        let status = try repo.status()
        #expect(status.modified == ["images/moon.png"])
        #expect(status.deleted == ["images/grass.png"])
        #expect(status.renamed == [.init(from: "images/coins.png", to: "images/coins-renamed.png")])
        #expect(status.added == ["images/brick-copy.png"])
        let second = try repo.commit(message: "second", author: "bo")
        #expect(try repo.status().isClean)
        // Labels followed the rename.
        let labels = try repo.labels(at: "HEAD")
        #expect(labels.annotations.filter { $0.item == "images/coins-renamed.png" }.count == 24)

        #expect(try repo.log().map(\.id) == [second.id, first.id])
        #expect(try repo.resolve("HEAD~1") == first.id)
        #expect(try repo.resolve(String(first.id.hex.prefix(8))) == first.id)
        try repo.tag("v1", at: "HEAD~1")
        #expect(try repo.resolve("v1") == first.id)
        #expect(try repo.resolve("v1~0") == first.id)
        #expect(throws: VersioningError.self) { try repo.tag("v1") }
        #expect(throws: VersioningError.self) { try repo.resolve("HEAD~5") }
        #expect(throws: VersioningError.self) { try repo.resolve("nope") }
        // Dedup: the copy of brick.png stored no new object.
        #expect(try repo.fsck().isHealthy)
    }

    @Test func statCacheAvoidsRehashing() throws {
        let (scratch, repo) = try photoRepository()
        _ = try repo.add([scratch.path + "/images"])
        let again = try repo.add([scratch.path + "/images"])
        #expect(again.hashed == 0)
        // Touching a file changes its mtime: it is hashed again, but it is not a modification.
        let path = scratch.path + "/images/rocket.jpg"
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: 60)], ofItemAtPath: path)
        let touched = try repo.add([scratch.path + "/images"])
        #expect(touched.hashed == 1 && touched.storedObjects == 0)
        try repo.commit(message: "one", author: "a")
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: 120)], ofItemAtPath: path)
        #expect(try repo.status().isClean)
    }

    @Test func identicalContentIsStoredOnce() throws {
        let scratch = ScratchDirectory()
        for name in ["a", "b", "c/d"] { scratch.write(name + ".txt", "same bytes") }
        let repo = try Repository.initialize(at: scratch.path)
        let report = try repo.add([scratch.path])
        #expect(report.files == 3 && report.storedObjects == 1)
    }

    @Test func hardlinkModeProtectsTheStore() throws {
        let scratch = ScratchDirectory()
        scratch.write("data/a.bin", "alpha")
        let repo = try Repository.initialize(at: scratch.path)
        _ = try repo.add([scratch.path + "/data"], link: .hardlink)
        let path = scratch.path + "/data/a.bin"
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int ?? 0) & 0o222 == 0)
        #expect((attributes[.referenceCount] as? Int ?? 0) == 2)
        try repo.commit(message: "one", author: "a")
        // Replacing the file (not writing through the link) keeps the stored object intact.
        try FileManager.default.removeItem(atPath: path)
        scratch.write("data/a.bin", "beta")
        try repo.commit(message: "two", author: "a")
        _ = try repo.checkout("HEAD~1", force: true)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "alpha")
        #expect(try repo.fsck().isHealthy)
    }

    @Test func reflinkModeClonesOrFallsBackToACopy() throws {
        let scratch = ScratchDirectory()
        scratch.write("data/a.bin", "alpha")
        scratch.write("data/b.bin", "beta")
        let repo = try Repository.initialize(at: scratch.path)
        let report = try repo.add([scratch.path + "/data"], link: .reflink)
        #expect(report.storedObjects == 2)
        // ext4 and tmpfs cannot clone: every object was copied (a CoW file system would clone).
        #expect(report.reflinkFallbacks <= 2)
        try repo.commit(message: "one", author: "a")
        // Editing the working file in place leaves the stored bytes alone.
        scratch.write("data/a.bin", "changed in place")
        #expect(try repo.fsck().isHealthy)
        _ = try repo.checkout("HEAD", force: true)
        #expect(try String(contentsOfFile: scratch.path + "/data/a.bin", encoding: .utf8) == "alpha")
    }

    @Test func badPathsAreRefusedAndNothingIsRecorded() throws {
        let scratch = ScratchDirectory()
        scratch.write("repo/ok.txt", "fine")
        scratch.write("outside.txt", "secret")
        let repo = try Repository.initialize(at: scratch.path + "/repo")
        func expectUnchanged(_ body: () throws -> Void, _ message: String) {
            #expect {
                try body()
            } throws: { error in
                let e = error as? VersioningError
                #expect(e?.message.contains(message) == true, "\(String(describing: e))")
                return e != nil
            }
            #expect((try? repo.status().added) == [], "\(message): nothing may be tracked after a refused add")
        }
        expectUnchanged({ _ = try repo.add([scratch.path + "/outside.txt"]) }, "outside the repository")
        expectUnchanged({ _ = try repo.add([scratch.path + "/repo/.curate"]) }, "inside .curate")
        try FileManager.default.createSymbolicLink(atPath: scratch.path + "/repo/link.txt", withDestinationPath: scratch.path + "/outside.txt")
        expectUnchanged({ _ = try repo.add([scratch.path + "/repo"]) }, "symlink points outside the repository")
        try FileManager.default.removeItem(atPath: scratch.path + "/repo/link.txt")
        scratch.write("repo/bad\nname.txt", "x")
        expectUnchanged({ _ = try repo.add([scratch.path + "/repo"]) }, "control character")
        try FileManager.default.removeItem(atPath: scratch.path + "/repo/bad\nname.txt")
        let fd = open(scratch.path + "/repo/\u{1}", O_CREAT | O_WRONLY, 0o644)
        close(fd)
        expectUnchanged({ _ = try repo.add([scratch.path + "/repo"]) }, "control character")
        unlink(scratch.path + "/repo/\u{1}")
        // A name that is not UTF-8.
        let bytes: [CChar] = Array((scratch.path + "/repo/caf").utf8CString.dropLast()) + [CChar(bitPattern: 0xE9), 0]
        let fd2 = bytes.withUnsafeBufferPointer { open($0.baseAddress!, O_CREAT | O_WRONLY, 0o644) }
        close(fd2)
        expectUnchanged({ _ = try repo.add([scratch.path + "/repo"]) }, "not valid UTF-8")
        _ = bytes.withUnsafeBufferPointer { unlink($0.baseAddress!) }
        // A symlink inside the root to a file inside the root is tracked as that content.
        try FileManager.default.createSymbolicLink(atPath: scratch.path + "/repo/alias.txt", withDestinationPath: scratch.path + "/repo/ok.txt")
        let report = try repo.add([scratch.path + "/repo"])
        #expect(report.files == 2 && report.storedObjects == 1)
        // Labels for an untracked file are refused, and nothing is imported.
        let labels = scratch.write("labels.csv", "path,label\nrepo/ok.txt,cat\n")
        #expect(throws: VersioningError.self) {
            try repo.add([], labels: LabelImport(path: labels, format: .csv, imagesRoot: scratch.path + "/repo/.."))
        }
    }

    @Test func checkoutRefusesToOverwriteAndRestores() throws {
        let scratch = ScratchDirectory()
        scratch.write("data/a.txt", "one")
        scratch.write("data/b.txt", "bee")
        let repo = try Repository.initialize(at: scratch.path)
        _ = try repo.add([scratch.path + "/data"])
        try repo.commit(message: "v1", author: "a")
        scratch.write("data/a.txt", "two")
        scratch.write("data/c.txt", "sea")
        try repo.commit(message: "v2", author: "a")
        scratch.write("data/a.txt", "uncommitted")
        #expect {
            try repo.checkout("HEAD~1")
        } throws: { ($0 as? VersioningError)?.code == .wouldOverwrite }
        #expect(try String(contentsOfFile: scratch.path + "/data/a.txt", encoding: .utf8) == "uncommitted")
        // Only b.txt is requested: a.txt's uncommitted change is not in the way.
        let partial = try repo.checkout("HEAD~1", paths: ["data/b.txt"])
        #expect(partial.written == 0 && partial.unchanged == 1)
        let forced = try repo.checkout("HEAD~1", force: true)
        #expect(forced.written == 1 && forced.removed == 1)
        #expect(try String(contentsOfFile: scratch.path + "/data/a.txt", encoding: .utf8) == "one")
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/data/c.txt"))
        let status = try repo.status()
        #expect(status.modified == ["data/a.txt"] && status.deleted == ["data/c.txt"])
        // To another folder.
        let out = ScratchDirectory()
        let report = try repo.checkout("HEAD", to: out.path + "/v2")
        #expect(report.written == 3)
        #expect(try String(contentsOfFile: out.path + "/v2/data/c.txt", encoding: .utf8) == "sea")
        #expect(throws: VersioningError.self) { try repo.checkout("HEAD", to: out.path + "/v2") }
    }

    @Test func fsckFindsDamageAndGCRemovesLeftovers() throws {
        let scratch = ScratchDirectory()
        scratch.write("data/a.txt", "alpha")
        let repo = try Repository.initialize(at: scratch.path)
        _ = try repo.add([scratch.path + "/data"])
        try repo.commit(message: "v1", author: "a")
        #expect(try repo.fsck().isHealthy)
        // A pack left by a killed add (no metadata points at it) is garbage.
        scratch.write(".curate/packs/pack-stray.pack", "junk")
        let gc = try repo.gc()
        #expect(gc.packsRemoved == 1)
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/.curate/packs/pack-stray.pack"))
        // Flip one byte of a stored object.
        let packs = try FileManager.default.contentsOfDirectory(atPath: scratch.path + "/.curate/packs").filter { $0.hasSuffix(".pack") }
        let pack = scratch.path + "/.curate/packs/" + packs.sorted().first!
        chmod(pack, 0o644)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: pack))
        bytes[0] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: pack))
        let report = try repo.fsck()
        #expect(!report.isHealthy)
        #expect(report.problems.contains { $0.contains("do not match its hash") })
    }
}

/// Attack 17: readers on a full disk printed "SQLite error 10: disk I/O error"; the message now says what and where.
@Test(arguments: [(ResultCode.SQLITE_FULL, "the disk is full"), (ResultCode.SQLITE_IOERR, "disk I/O error (is the disk full or failing?)"),
                  (ResultCode.SQLITE_CORRUPT, "the metadata database is damaged")])
func databaseFailuresNameTheFileAndTheCause(_ code: ResultCode, _ expected: String) {
    let error = Metadata.databaseError(DatabaseError(resultCode: code, message: "low-level"), path: "/data/.curate/metadata.sqlite", "storing an answer")
    #expect(error.message.hasPrefix("/data/.curate/metadata.sqlite: "))
    #expect(error.message.contains(expected), "\(error.message)")
    #expect(error.code == (code == .SQLITE_CORRUPT ? .corrupt : .io))
}

/// The format version is the number of the latest migration, so every layout change moves it.
@Test func theFormatVersionCountsTheMigrations() {
    #expect(Metadata.formatVersion == Metadata.migrator.migrations.count)
    #expect(Metadata.migrator.migrations.last?.hasPrefix("v\(Metadata.formatVersion) ") == true)
}

/// A repository written by a newer curate is refused, by its FORMAT file or by migrations this one does not know.
@Test func aNewerRepositoryIsRefused() throws {
    let scratch = ScratchDirectory()
    let repo = try Repository.initialize(at: scratch.path)
    try repo.write("a newer curate") { db in
        try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v\(Metadata.formatVersion + 1) from the future')")
    }
    #expect { try Repository.open(at: scratch.path) } throws: { error in
        (error as? VersioningError).map { $0.code == .invalid && $0.message.contains("was written by a newer curate") } ?? false
    }
    scratch.write(".curate/FORMAT", "\(Metadata.formatVersion + 1)\n")
    #expect { try Repository.open(at: scratch.path) } throws: { error in
        (error as? VersioningError)?.message.contains("uses format \(Metadata.formatVersion + 1); this curate reads up to \(Metadata.formatVersion): upgrade curate") ?? false
    }
}
