import CurateTestSupport
@testable import CurateVersioning
import Foundation
import Testing

/// Repositories written by earlier versions of Curate open with this one: every shipped on-disk format has a
/// fixture made by the last curate of that format (scripts/make_format_fixture).
@Suite struct FormatUpgradeTests {
    @Test(arguments: [1, 7])
    func anOlderRepositoryOpensAndIsUpgraded(_ version: Int) throws {
        let scratch = ScratchDirectory()
        let dir = scratch.path + "/repo"
        try FileManager.default.copyItem(atPath: TestFixtures.repoPath("Tests/CurateVersioningTests/Fixtures/format-\(version)"), toPath: dir)
        #expect(try String(contentsOfFile: dir + "/.curate/FORMAT", encoding: .utf8) == "\(version)\n")
        let log = try CLI.run(["log", "--json"], in: dir)
        #expect(log.exitCode == 0, "\(log.stderr)")
        let commits = try #require(try JSONSerialization.jsonObject(with: Data(log.stdout.utf8)) as? [[String: Any]])
        #expect(commits.map { $0["message"] as? String } == ["relabel one", "six digits"])
        // Opening upgraded it: the new version, and an index beside every pack.
        #expect(try String(contentsOfFile: dir + "/.curate/FORMAT", encoding: .utf8) == "\(Metadata.formatVersion)\n")
        let packs = try FileManager.default.contentsOfDirectory(atPath: dir + "/.curate/packs")
        #expect(!packs.isEmpty && packs.filter { $0.hasSuffix(".idx") }.count == packs.filter { $0.hasSuffix(".pack") }.count)
        #expect(try CLI.run(["status"], in: dir).stdout.hasSuffix("nothing to commit, working tree and labels match\n"))
        #expect(try CLI.run(["fsck"], in: dir).stdout.hasSuffix("no problems\n"))
        let show = try CLI.run(["queue", "show", "round1"], in: dir)
        #expect(show.stdout.contains("1 answers") || show.stdout.contains(", 1 answers,"), "\(show.stdout)")
        #expect(try CLI.run(["labels", "export", "--rev", "v1", "--format", "csv", "--out", scratch.path + "/v1.csv"], in: dir).exitCode == 0)
        #expect(try String(contentsOfFile: scratch.path + "/v1.csv", encoding: .utf8) == String(contentsOfFile: dir + "/labels.csv", encoding: .utf8))
        // And it can now be rebuilt from its objects alone.
        truncate(dir + "/.curate/metadata.sqlite", 0)
        let rebuild = try CLI.run(["fsck", "--rebuild"], in: dir)
        #expect(rebuild.exitCode == 0 && rebuild.stdout.contains("2 commits") && rebuild.stdout.contains("1 tag(s)"), "\(rebuild)")
        #expect(try CLI.run(["log", "--json"], in: dir).stdout == log.stdout)
        // The labeling state moved to its own file at format 8, so the rebuild kept it.
        let labeling = try CLI.run(["queue", "show", "round1", "--json"], in: dir)
        let queue = try #require(try JSONSerialization.jsonObject(with: Data(labeling.stdout.utf8)) as? [String: Any], "\(labeling)")
        #expect(queue["answers"] as? Int == 1 && queue["items"] as? Int == 6, "\(queue)")
        #expect(FileManager.default.fileExists(atPath: dir + "/.curate/labeling.sqlite"))
        if version >= 7 {
            // Routing runs and workflow runs came along too.
            let runs = try CLI.run(["runs", "--json"], in: dir)
            #expect(runs.exitCode == 0 && runs.stdout.contains(#""workflow":"tiny""#) && runs.stdout.contains(#""status":"done""#), "\(runs)")
            let report = try CLI.run(["route", "report"], in: dir)
            #expect(report.exitCode == 0 && report.stdout.contains("0 answered"), "\(report)")
        }
    }

    /// A new repository keeps no labeling tables in metadata.sqlite (migration v8 drops the empty ones).
    @Test func aNewRepositoryKeepsLabelingStateApart() throws {
        let scratch = ScratchDirectory()
        _ = try scratch.copyDigits(1)
        for args in [["init"], ["add", "images"], ["commit", "-m", "one", "--author", "t"], ["queue", "create", "q", "--empty"]] {
            #expect(try CLI.run(args, in: scratch.path).exitCode == 0)
        }
        let repo = try Repository.open(at: scratch.path)
        let tables = try repo.read("tables") { db in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'") }
        #expect(Set(tables).isDisjoint(with: Metadata.labelingTables), "\(tables)")
        #expect(try CLI.run(["queue", "list"], in: scratch.path).stdout.contains("q"))
    }
}
