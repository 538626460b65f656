import CurateStore
import CurateTestSupport
import Foundation
import Testing

/// `curate watch` and a blocked annotator's session, driven as people would: in tmux.
@Suite(.serialized) struct WatchTmuxTests {
    let server = Tmux()

    @discardableResult
    func tmux(_ args: [String]) throws -> String { server(args) }

    func screen(_ target: String) throws -> [String] { server.screen(target) }

    func waitFor(_ target: String, _ what: String, _ condition: ([String]) -> Bool) throws -> [String] { server.waitFor(target, what, condition) }

    func script(_ scratch: ScratchDirectory, _ name: String, _ arguments: String) {
        scratch.write(name, "#!/bin/sh\ncd '\(scratch.path)'\n'\(CLI.executable)' \(arguments)\necho \"exit $?\" > \(name).exit\nsleep 120\n")
        chmod(scratch.path + "/" + name, 0o755)
    }

    /// Answers one item for `who` through the scripting interface.
    func answer(_ scratch: ScratchDirectory, _ who: String, label: String) throws {
        let next = try CLI.run(["queue", "next", "q", "--annotator", who, "--json"], in: scratch.path)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(next.stdout.utf8)) as? [String: String], "\(next.stderr)")
        let r = try CLI.run(["queue", "answer", "q", "--annotator", who, "--item", object["item"]!, "--lease", object["lease"]!, "--label", label, "--seconds", "0.3"], in: scratch.path)
        #expect(r.exitCode == 0, "\(r.stderr)")
    }

    /// The lead's view updates as answers arrive; the policy blocks a spammer and the alert says so; Enter shows
    /// the details; u unblocks from the keyboard. The blocked annotator's open session says their work is paused,
    /// and why, serves nothing more, and picks up again once unblocked.
    @Test func watchUpdatesBlocksAndTheBlockedSessionPauses() throws {
        let scratch = ScratchDirectory()
        let truth = try VettingCommandTests.repository(scratch, count: 60, gold: 10)
        scratch.write("fast.yaml", "rules:\n  - name: one class for everything\n    when: one_class_run >= 6\n    action: block\n")
        for args in [["queue", "create", "q", "--paths", "images", "--gold", "gold.csv", "--gold-rate", "0.5"], ["queue", "policy", "q", "fast.yaml"]] {
            let r = try CLI.run(args, in: scratch.path)
            #expect(r.exitCode == 0, "\(args): \(r.stderr)")
        }
        script(scratch, "watch.sh", "watch --queue q --interval 0.3")
        script(scratch, "gus.sh", "label --queue q --annotator gus")
        defer { _ = try? tmux(["kill-server"]) }
        try tmux(["new-session", "-d", "-s", "W", "-x", "150", "-y", "36", scratch.path + "/watch.sh"])
        _ = try waitFor("W", "the empty watch") { $0.contains { $0.contains("no answers yet") } }
        // ana answers truthfully: her row appears and her count grows.
        for _ in 0..<3 {
            let next = try CLI.run(["queue", "next", "q", "--annotator", "ana", "--json"], in: scratch.path)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(next.stdout.utf8)) as? [String: String])
            #expect(try CLI.run(["queue", "answer", "q", "--annotator", "ana", "--item", object["item"]!, "--lease", object["lease"]!, "--label", truth[object["item"]!]!, "--seconds", "4"], in: scratch.path).exitCode == 0)
        }
        _ = try waitFor("W", "ana's three answers") { $0.contains { $0.contains("ana") && $0.contains(" 3 ") } }
        // gus labels in his own terminal, pressing 1 for everything, until the policy blocks him.
        try tmux(["new-window", "-t", "W", scratch.path + "/gus.sh"])
        _ = try waitFor("W:1", "gus's first item") { $0.first?.hasPrefix("curate label — queue q — gus — images/") == true }
        for _ in 0..<12 {
            try tmux(["send-keys", "-t", "W:1", "1"])
            Thread.sleep(forTimeInterval: 0.15)
            if try screen("W:1").contains(where: { $0.contains("paused for review") }) { break }
        }
        let paused = try waitFor("W:1", "gus's paused screen") { $0.contains { $0.contains("Your work in this queue is paused for review: your last") } }
        #expect(paused.contains { $0.contains("Your answers so far are kept; a lead will look at them.") })
        // The lead's view: gus blocked, the alert, his evidence in the detail pane.
        let watch = try waitFor("W:0", "gus blocked in watch") { s in s.contains { $0.contains("gus") && $0.contains("blocked") } && s.contains { $0.contains("policy blocked gus") } }
        #expect(watch.first?.hasPrefix("curate watch — queue q — vetting policy on") == true)
        #expect(watch.contains { $0.hasPrefix("done ") && $0.contains("items") })
        try tmux(["send-keys", "-t", "W:0", "Enter"])   // the first row (sorted by verdict) is gus
        let detail = try waitFor("W:0", "gus's details") { $0.contains { $0.hasPrefix("gus: blocked by policy: your last") } }
        #expect(detail.contains { $0.hasPrefix("recent answers (item: answer [gold]):") })
        // The lead unblocks him from the keyboard; his session serves items again.
        try tmux(["send-keys", "-t", "W:0", "u"])
        _ = try waitFor("W:0", "the unblock") { $0.contains { $0.contains("unblocked gus") } }
        _ = try waitFor("W:1", "gus's next item") { $0.first?.hasPrefix("curate label — queue q — gus — images/") == true }
        let decisions = try CLI.run(["queue", "show", "q", "--json"], in: scratch.path)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(decisions.stdout.utf8)) as? [String: Any])
        let list = try #require(object["decisions"] as? [[String: Any]])
        #expect(list.map { $0["action"] as? String } == ["block", "unblock"])
        #expect((list.last?["by"] as? String)?.isEmpty == false && list.first?["by"] as? String == "policy")
        try tmux(["send-keys", "-t", "W:0", "q"])
        _ = try waitFor("W:0", "watch quit") { _ in FileManager.default.fileExists(atPath: scratch.path + "/watch.sh.exit") }
        #expect(try String(contentsOfFile: scratch.path + "/watch.sh.exit", encoding: .utf8) == "exit 0\n")
    }
}
