import CurateTestSupport
import Foundation
import Testing

/// A labeling team on PostgreSQL, end to end through the CLI: the lead sets the store and creates a queue in one
/// folder; two annotators, each in their own copy of the dataset (standing in for other machines), answer it at
/// once; the lead watches, exports and commits.
@Suite struct PostgresTeamTests {
    @Test func aTeamLabelsOneQueueFromSeparateFolders() throws {
        let url = try PostgresServer.newDatabase()
        let scratch = ScratchDirectory(), leadFolder = ScratchDirectory()
        let lead = leadFolder.path
        let digits = try leadFolder.copyDigits(12)
        let truth = Dictionary(uniqueKeysWithValues: digits.map { ($0.path, $0.label) })
        try Data(("path,label\n" + digits.prefix(10).map { "\($0.path),\($0.label)\n" }.joined()).utf8).write(to: URL(fileURLWithPath: lead + "/labels.csv"))
        for args in [["init"], ["add", "images", "--labels", "labels.csv"], ["commit", "-m", "digits", "--author", "lead"]] {
            #expect(try CLI.run(args, in: lead).exitCode == 0)
        }
        // A password in the URL is refused (it would sit in the repository).
        let secret = try CLI.run(["store", "set", url.replacingOccurrences(of: "postgres@", with: "postgres:hunter2@")], in: lead)
        #expect(secret.exitCode == 64 && secret.stderr.contains("postgres://postgres:***@") && !secret.stderr.contains("hunter2"), "\(secret)")
        let set = try CLI.run(["store", "set", url], in: lead)
        #expect(set.exitCode == 0 && set.stdout.hasPrefix("labeling state: postgres://postgres@127.0.0.1:"), "\(set)")
        #expect(try CLI.run(["queue", "create", "round1", "--paths", "images", "--overlap", "2"], in: lead).exitCode == 0)
        // The annotators' machines: their own copies of the dataset, pointing at the same store.
        let machines = ["ana", "ben"].map { scratch.path + "/" + $0 }
        for machine in machines { try FileManager.default.copyItem(atPath: lead, toPath: machine) }
        #expect(!FileManager.default.fileExists(atPath: machines[0] + "/.curate/labeling.sqlite"))
        let answered = Counter()
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            let name = ["ana", "ben"][i]
            while let next = try? CLI.run(["queue", "next", "round1", "--annotator", name, "--json"], in: machines[i]), next.exitCode == 0,
                  let lease = try? JSONSerialization.jsonObject(with: Data(next.stdout.utf8)) as? [String: String],
                  let item = lease["item"], let token = lease["lease"] {
                let stored = try? CLI.run(["queue", "answer", "round1", "--annotator", name, "--item", item, "--lease", token, "--label", truth[item] ?? "0"], in: machines[i])
                if stored?.exitCode == 0 { answered.add() } else { Issue.record("\(name) \(item): \(stored.map { "\($0)" } ?? "no result")") }
            }
        }
        #expect(answered.value == 24, "each of 12 items answered by both")
        let show = try CLI.run(["queue", "show", "round1", "--json"], in: lead)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as? [String: Any], "\(show)")
        #expect(report["done"] as? Int == 12 && report["answers"] as? Int == 24)
        let people = (report["annotators"] as? [[String: Any]] ?? []).map { ($0["annotator"] as? String ?? "", $0["answers"] as? Int ?? 0) }
        #expect(people.map(\.0) == ["ana", "ben"] && people.allSatisfy { $0.1 == 12 }, "\(people)")
        // The lead exports and commits; the local SQLite file was never used.
        #expect(try CLI.run(["queue", "export", "round1", "--out", "answers.jsonl"], in: lead).stdout.hasPrefix("24 answers on 12 items"))
        #expect(try CLI.run(["add", "--labels", "answers.jsonl", "--format", "jsonl"], in: lead).exitCode == 0)
        #expect(try CLI.run(["commit", "-m", "round 1 answers", "--author", "lead"], in: lead).exitCode == 0)
        #expect(!FileManager.default.fileExists(atPath: lead + "/.curate/labeling.sqlite"))
        // CURATE_STORE=sqlite forces the local file for one command; unset goes back to it.
        #expect(try CLI.run(["store", "show"], in: lead, environment: ["CURATE_STORE": "sqlite"]).stdout.contains("queues: none"))
        #expect(try CLI.run(["store", "unset"], in: lead).exitCode == 0)
        #expect(try CLI.run(["store", "show"], in: lead).stdout.hasPrefix("labeling state: " + lead))
    }
}

/// A thread-safe count.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}
