import CurateStore
import CurateTestSupport
import Foundation
import Testing

/// `curate store migrate`: a team that started on one machine moves its queues and history to PostgreSQL and back,
/// verified by counts and checksums, and keeps working where it stopped.
@Suite struct StoreMigrateTests {
    @Test func stateMovesToPostgresAndBack() throws {
        let url = try PostgresServer.newDatabase()
        let folder = ScratchDirectory()
        let root = folder.path
        let digits = try folder.copyDigits(8)
        let truth = Dictionary(uniqueKeysWithValues: digits.map { ($0.path, $0.label) })
        try Data(("path,label\n" + digits.map { "\($0.path),\($0.label)\n" }.joined()).utf8).write(to: URL(fileURLWithPath: root + "/labels.csv"))
        try Data("path,label\n\(digits[7].path),\(digits[7].label)\n".utf8).write(to: URL(fileURLWithPath: root + "/gold.csv"))
        for args in [["init"], ["add", "images", "--labels", "labels.csv"], ["commit", "-m", "digits", "--author", "lead"],
                     ["queue", "create", "round1", "--paths", "images", "--overlap", "2", "--gold", "gold.csv", "--gold-rate", "0.3"]] {
            #expect(try CLI.run(args, in: root).exitCode == 0, "\(args)")
        }
        // Some work on the local store: answers (one skipped), a suspended class, a workflow run.
        func answer(_ who: String, _ n: Int, label: String? = nil) throws {
            for _ in 0..<n {
                let next = try CLI.run(["queue", "next", "round1", "--annotator", who, "--json"], in: root)
                let lease = try #require(try JSONSerialization.jsonObject(with: Data(next.stdout.utf8)) as? [String: String], "\(next)")
                let stored = try CLI.run(["queue", "answer", "round1", "--annotator", who, "--item", lease["item"]!, "--lease", lease["lease"]!,
                                          "--label", label ?? truth[lease["item"]!]!, "--seconds", "1.5"], in: root)
                #expect(stored.exitCode == 0, "\(stored)")
            }
        }
        try answer("ana", 4)
        try answer("ben", 3)
        let local = try SQLiteStore.open(curateDirectory: root + "/.curate")
        try local.setRouteSuspended("3", reason: "audit failed")
        let run = try local.startWorkflowRun(workflow: "w", file: "w.yaml", params: "{}", token: "t")
        try local.finishWorkflowRun(run, status: .done, message: nil, endRevision: nil)

        // Not while someone holds an item.
        let held = try CLI.run(["queue", "next", "round1", "--annotator", "ben", "--json"], in: root)
        let busy = try CLI.run(["store", "migrate", url], in: root)
        #expect(busy.exitCode == 64 && busy.stderr.contains("1 item is leased right now (people are labeling)"), "\(busy)")
        let lease = try #require(try JSONSerialization.jsonObject(with: Data(held.stdout.utf8)) as? [String: String])
        #expect(try CLI.run(["queue", "answer", "round1", "--annotator", "ben", "--item", lease["item"]!, "--lease", lease["lease"]!, "--label", truth[lease["item"]!]!], in: root).exitCode == 0)
        let before = try CLI.run(["queue", "show", "round1", "--json"], in: root).stdout
        let nextForAna = try local.upcoming("round1", annotator: "ana", limit: 1)
        // An unreachable target: one line, exit 69, the repository still on its own store.
        let away = try CLI.run(["store", "migrate", "postgres://nobody@127.0.0.1:1/none?sslmode=disable"], in: root)
        #expect(away.exitCode == 69 && away.stderr.contains("127.0.0.1:1") && !FileManager.default.fileExists(atPath: root + "/.curate/store"), "\(away)")

        let moved = try CLI.run(["store", "migrate", url, "--json"], in: root)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(moved.stdout.utf8)) as? [String: Any], "\(moved)")
        let tables = Dictionary(uniqueKeysWithValues: (report["tables"] as? [[String: Any]] ?? []).map { ($0["table"] as? String ?? "", $0["rows"] as? Int ?? -1) })
        #expect(tables["queues"] == 1 && tables["queue_items"] == 8 && tables["queue_answers"] == 8 && tables["route_suspended"] == 1
                && tables["workflow_runs"] == 1 && tables["queue_leases"] == 0 && report["alreadyThere"] as? Bool == false, "\(tables)")
        #expect(try String(contentsOfFile: root + "/.curate/store", encoding: .utf8) == url + "\n")
        // The same queue, the same figures, the same next item — now from PostgreSQL.
        let after = try CLI.run(["queue", "show", "round1", "--json"], in: root).stdout
        #expect(Self.figures(after) == Self.figures(before) && Self.figures(after).contains("answers=8"), "\(after)")
        // A rerun after the copy committed (here: forced back to the local file as the source) only switches.
        let again = try CLI.run(["store", "migrate", url], in: root, environment: ["CURATE_STORE": "sqlite"])
        #expect(again.exitCode == 0 && again.stdout.contains("already copied: "), "\(again)")
        let shared = try PostgresStore(try PostgresLocation(url: url))
        #expect(try shared.routeState().suspended.keys.contains("3") && shared.workflowRuns().map(\.status) == [.done])
        let text = try CLI.run(["queue", "next", "round1", "--annotator", "ana"], in: root).stdout
        #expect(text.hasPrefix(nextForAna[0] + "\n"), "\(text) vs \(nextForAna)")
        // Undo on the new store takes back the latest answer (ids and times came along).
        #expect(try shared.undoLastAnswer("round1", annotator: "ben")?.path == lease["item"])

        _ = try shared.storeAnswer("round1", path: lease["item"]!, annotator: "ben", answer: #"{"class":"\#(truth[lease["item"]!]!)"}"#, seconds: 1,
                                   lease: try #require(try shared.leaseNext("round1", annotator: "ben")?.lease))
        // Ana's session ends (her lease expires).
        try PostgresServer.psql("DELETE FROM queue_leases", database: String(url.split(separator: "/").last!.split(separator: "?")[0]))
        // Back to SQLite: refused while the old file still holds the old state; moved once it is set aside.
        let occupied = try CLI.run(["store", "migrate", "sqlite"], in: root)
        #expect(occupied.exitCode == 64 && occupied.stderr.contains("already holds labeling state (1 queues, 8 answers)"), "\(occupied)")
        for suffix in ["", "-wal", "-shm"] { unlink(root + "/.curate/labeling.sqlite" + suffix) }
        let back = try CLI.run(["store", "migrate", "sqlite"], in: root)
        #expect(back.exitCode == 0 && back.stdout.contains("copied and verified: ") && !FileManager.default.fileExists(atPath: root + "/.curate/store"), "\(back)")
        #expect(try shared.snapshot().figures == SQLiteStore.open(curateDirectory: root + "/.curate").snapshot().figures)
    }

    /// A copy that reads back differently is named by its table and rolled back.
    @Test func aMismatchNamesTheTable() throws {
        let a = [TableFigures(table: "queues", rows: 1, checksum: "aa"), TableFigures(table: "queue_answers", rows: 3, checksum: "bb")]
        var b = a
        b[1].rows = 2
        let error = try #require(throws: StoreError.self) { try StoreMigration.check(b, against: a, location: "x") }
        #expect(error.kind == .invalidData && error.description.contains("table queue_answers read back 2 rows") && error.description.contains("after 3 were written"))
    }

    /// The figures two stores must agree on: counts and each annotator's work.
    static func figures(_ json: String) -> String {
        guard let r = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else { return "unreadable" }
        let people = (r["annotators"] as? [[String: Any]] ?? []).map { p in
            ["annotator", "answers", "skips", "goldAnswered", "goldCorrect", "medianSeconds"].map { "\(p[$0] ?? "-")" }.joined(separator: "/")
        }
        return "items=\(r["items"] ?? 0) done=\(r["done"] ?? 0) answers=\(r["answers"] ?? 0) " + people.joined(separator: " ")
    }
}
