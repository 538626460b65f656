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
                if stored?.exitCode == 0 { answered.add() } else { Issue.record("\(name) \(item): \(stored.map { "\($0)" } ?? "no result")"); break }
            }
        }
        #expect(answered.value == 24, "each of 12 items answered by both")
        let show = try CLI.run(["queue", "show", "round1", "--json"], in: lead)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as? [String: Any], "\(show)")
        #expect(report["done"] as? Int == 12 && report["answers"] as? Int == 24)
        let people = (report["annotators"] as? [[String: Any]] ?? []).map { ($0["annotator"] as? String ?? "", $0["answers"] as? Int ?? 0) }
        #expect(people.map(\.0) == ["ana", "ben"] && people.allSatisfy { $0.1 == 12 }, "\(people)")
        // Live figures from the shared store: pace, agreement (both answered the truth), nobody holding an item.
        #expect((report["perHour"] as? Double ?? 0) > 0 && report["etaMinutes"] as? Double == 0, "\(report)")
        #expect(report["agreement"] as? Double == 1 && report["comparedPairs"] as? Int == 12 && (report["leases"] as? [Any])?.isEmpty == true, "\(report)")
        for person in report["annotators"] as? [[String: Any]] ?? [] {
            #expect(person["agreement"] as? Double == 1 && person["comparedPairs"] as? Int == 12 && (person["perHour"] as? Double ?? 0) > 0
                    && person["medianSeconds"] as? Double == 0, "\(person)")
        }
        let text = try CLI.run(["queue", "show", "round1"], in: lead).stdout
        #expect(text.contains("answers/hour over the last hour") && text.contains("agreement 100% over 12 pairs") && text.contains("100% of 12"), "\(text)")
        // The lead exports and commits; the local SQLite file was never used.
        #expect(try CLI.run(["queue", "export", "round1", "--out", "answers.jsonl"], in: lead).stdout.hasPrefix("24 answers exported: 24 labels on 12 items"))
        #expect(try CLI.run(["add", "--labels", "answers.jsonl", "--format", "jsonl"], in: lead).exitCode == 0)
        #expect(try CLI.run(["commit", "-m", "round 1 answers", "--author", "lead"], in: lead).exitCode == 0)
        #expect(!FileManager.default.fileExists(atPath: lead + "/.curate/labeling.sqlite"))
        // CURATE_STORE=sqlite forces the local file for one command; unset goes back to it.
        #expect(try CLI.run(["store", "show"], in: lead, environment: ["CURATE_STORE": "sqlite"]).stdout.contains("queues: none"))
        #expect(try CLI.run(["store", "unset"], in: lead).exitCode == 0)
        #expect(try CLI.run(["store", "show"], in: lead).stdout.hasPrefix("labeling state: " + lead))
    }

    /// On PostgreSQL the annotator is the database role: an annotator role answers as itself only, cannot read
    /// others' answers or change queues — through Curate or through SQL of its own; a lead may do everything.
    @Test func theDatabaseRoleIsTheAnnotator() throws {
        let url = try PostgresServer.newDatabase()
        let database = String(url.split(separator: "/").last!.split(separator: "?")[0])
        let suffix = UUID().uuidString.prefix(6).lowercased()
        let (lead, ana, ben) = ("lead_\(suffix)", "ana_\(suffix)", "ben_\(suffix)")
        for role in [lead, ana, ben] { try PostgresServer.psql("CREATE ROLE \(role) LOGIN") }
        let asRole = { @Sendable (role: String) in url.replacingOccurrences(of: "postgres://postgres@", with: "postgres://\(role)@") }
        let folder = ScratchDirectory()
        let root = folder.path
        let digits = try folder.copyDigits(6)
        let truth = Dictionary(uniqueKeysWithValues: digits.map { ($0.path, $0.label) })
        try Data(("path,label\n" + digits.map { "\($0.path),\($0.label)\n" }.joined()).utf8).write(to: URL(fileURLWithPath: root + "/labels.csv"))
        for args in [["init"], ["add", "images", "--labels", "labels.csv"], ["commit", "-m", "digits", "--author", "lead"], ["store", "set", url]] {
            #expect(try CLI.run(args, in: root).exitCode == 0, "\(args)")
        }
        // The store's owner (here the superuser) makes the roles; grants are idempotent.
        #expect(try CLI.run(["store", "grant", "lead", lead], in: root).stdout.contains("\(lead): lead of postgres://"))
        for _ in 0..<2 { #expect(try CLI.run(["store", "grant", "annotator", ana, ben], in: root).exitCode == 0) }
        let missing = try CLI.run(["store", "grant", "annotator", "nobody_\(suffix)"], in: root)
        #expect(missing.exitCode == 66 && missing.stderr.contains("there is no role nobody_\(suffix)"), "\(missing)")
        let env = { @Sendable (role: String) in ["CURATE_STORE": asRole(role)] }
        #expect(try CLI.run(["queue", "create", "round1", "--paths", "images", "--overlap", "2"], in: root, environment: env(lead)).exitCode == 0)

        // An annotator answers as its role, without --annotator; naming someone else is refused before anything happens.
        let next = try CLI.run(["queue", "next", "round1", "--json"], in: root, environment: env(ana))
        let lease = try #require(try JSONSerialization.jsonObject(with: Data(next.stdout.utf8)) as? [String: String], "\(next)")
        let asBen = try CLI.run(["queue", "answer", "round1", "--annotator", ben, "--item", lease["item"]!, "--lease", lease["lease"]!, "--label", "3"],
                                in: root, environment: env(ana))
        #expect(asBen.exitCode == 64 && asBen.stderr.contains("connected as role \(ana)") && asBen.stderr.contains("answers as their own role only"), "\(asBen)")
        #expect(try CLI.run(["queue", "next", "round1", "--annotator", ben], in: root, environment: env(ana)).exitCode == 64)
        // Nor can the role do it with SQL of its own: the rows are checked by the server.
        let forged = [
            "INSERT INTO queue_answers (queue, path, annotator, answer, seconds, created) VALUES ('round1', '\(lease["item"]!)', '\(ben)', '{}', 0, 0)",
            "INSERT INTO queue_leases (queue, path, annotator, expires, token) VALUES ('round1', '\(lease["item"]!)', '\(ben)', 1e12, 'x')",
            "UPDATE queue_items SET position = 0", "DELETE FROM queues", "UPDATE queues SET overlap = 1", "SELECT * FROM route_items",
        ]
        for sql in forged {
            #expect(throws: PostgresServer.Failure.self, "\(sql)") { try PostgresServer.psql(sql, database: database, user: ana) }
        }
        // Changing queues is the lead's.
        let create = try CLI.run(["queue", "create", "mine", "--paths", "images"], in: root, environment: env(ana))
        #expect(create.exitCode == 64 && create.stderr.contains("this role may not do that"), "\(create)")
        #expect(try CLI.run(["queue", "close", "round1"], in: root, environment: env(ana)).exitCode == 64)

        // Both label everything; each sees only their own answers.
        let answered = Counter()
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            let role = [ana, ben][i]
            while let next = try? CLI.run(["queue", "next", "round1", "--json"], in: root, environment: env(role)), next.exitCode == 0,
                  let lease = try? JSONSerialization.jsonObject(with: Data(next.stdout.utf8)) as? [String: String],
                  let item = lease["item"], let token = lease["lease"] {
                let stored = try? CLI.run(["queue", "answer", "round1", "--item", item, "--lease", token, "--label", truth[item] ?? "0"], in: root, environment: env(role))
                if stored?.exitCode == 0 { answered.add() } else { Issue.record("\(role) \(item): \(stored.map { "\($0)" } ?? "no result")"); break }
            }
        }
        #expect(answered.value == 12)
        #expect(try PostgresServer.psql("SELECT DISTINCT annotator FROM queue_answers", database: database, user: ana) == "\(ana)\n")
        #expect(try PostgresServer.psql("SELECT COUNT(*) FROM queue_answers", database: database, user: ben) == "6\n")
        // The lead sees everyone's, and vets them.
        let show = try CLI.run(["queue", "show", "round1", "--json"], in: root, environment: env(lead))
        let report = try #require(try JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as? [String: Any], "\(show)")
        #expect(report["done"] as? Int == 6 && report["answers"] as? Int == 12, "\(report)")
        #expect((report["annotators"] as? [[String: Any]] ?? []).compactMap { $0["annotator"] as? String } == [ana, ben])
        #expect(try CLI.run(["queue", "export", "round1", "--out", "answers.jsonl"], in: root, environment: env(lead)).stdout.hasPrefix("12 answers exported: 12 labels on 6 items"))
    }
}

/// A thread-safe count.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}
