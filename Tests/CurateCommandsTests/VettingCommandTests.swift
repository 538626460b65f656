import CurateCore
import CurateLabeling
import CurateStore
import CurateTestSupport
import Foundation
import Testing

/// Live vetting from the command line: the simulated crowd through `curate queue next/answer` processes, the
/// lead's verbs, `curate watch --json`.
@Suite struct VettingCommandTests {
    static var decoder: JSONDecoder {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }

    /// A repository of the first `count` digits, committed, with `gold` of them listed in gold.csv.
    static func repository(_ scratch: ScratchDirectory, count: Int, gold: Int) throws -> [String: String] {
        let digits = try scratch.copyDigits(count)
        scratch.write("labels.csv", "path,label\n" + digits.prefix(10).map { "\($0.path),\($0.label)\n" }.joined())
        scratch.write("gold.csv", "path,label\n" + digits.suffix(gold).map { "\($0.path),\($0.label)\n" }.joined())
        for args in [["init"], ["add", "images", "--labels", "labels.csv", "--format", "csv"], ["commit", "-m", "digits", "--author", "t"]] {
            let r = try CLI.run(args, in: scratch.path)
            #expect(r.exitCode == 0, "\(args): \(r.stderr)")
        }
        return Dictionary(uniqueKeysWithValues: digits.map { ($0.path, $0.label) })
    }

    /// Eight annotator processes at once, each a loop of `queue next` and `queue answer` with the simulated crowd's
    /// answers: the three frauds are blocked by the standard policy, no honest annotator is, and every item ends
    /// with three counted answers.
    @Test func theCrowdThroughTheCLI() throws {
        let scratch = ScratchDirectory()
        let truth = try Self.repository(scratch, count: 180, gold: 40)
        let create = try CLI.run(["queue", "create", "crowd", "--paths", "images", "--overlap", "3", "--gold", "gold.csv", "--gold-rate", "0.1", "--policy", "standard"], in: scratch.path)
        #expect(create.exitCode == 0, "\(create.stderr)")
        let group = DispatchGroup()
        final class Log: @unchecked Sendable { let lock = NSLock(); var lines: [String] = [] }
        let log = Log()
        for (index, annotator) in SimulatedCrowd.annotators.enumerated() {
            group.enter()
            Thread {
                defer { group.leave() }
                var rng = SplitMix64(seed: 77 &+ UInt64(index))
                while let next = try? CLI.run(["queue", "next", "crowd", "--annotator", annotator.name, "--json"], in: scratch.path) {
                    guard next.exitCode == 0, let object = try? JSONSerialization.jsonObject(with: Data(next.stdout.utf8)) as? [String: String],
                          let item = object["item"], let lease = object["lease"] else {
                        log.lock.lock(); log.lines.append("\(annotator.name) next: \(next.exitCode) \(next.stderr)"); log.lock.unlock()
                        break
                    }
                    let (label, seconds) = SimulatedCrowd.answer(annotator, truth: Int(truth[item] ?? "0") ?? 0, rng: &rng)
                    let answer = (try? CLI.run(["queue", "answer", "crowd", "--annotator", annotator.name, "--item", item, "--lease", lease,
                                                "--label", String(label), "--seconds", String(seconds)], in: scratch.path))
                    if answer?.exitCode != 0 { log.lock.lock(); log.lines.append("\(annotator.name) answer: \(answer?.stderr ?? "")"); log.lock.unlock(); break }
                }
            }.start()
        }
        group.wait()
        // Those not blocked come back for the items a block returned.
        for annotator in SimulatedCrowd.annotators where !annotator.isFraud {
            var rng = SplitMix64(seed: 99)
            while let next = try? CLI.run(["queue", "next", "crowd", "--annotator", annotator.name, "--json"], in: scratch.path), next.exitCode == 0,
                  let object = try JSONSerialization.jsonObject(with: Data(next.stdout.utf8)) as? [String: String], let item = object["item"] {
                let (label, _) = SimulatedCrowd.answer(annotator, truth: Int(truth[item] ?? "0") ?? 0, rng: &rng)
                let r = try CLI.run(["queue", "answer", "crowd", "--annotator", annotator.name, "--item", item, "--lease", object["lease"] ?? "", "--label", String(label), "--seconds", "4"], in: scratch.path)
                #expect(r.exitCode == 0, "\(r.stderr)")
            }
        }
        // Each fraud's session ended on the paused message (exit 75, the reason in plain words).
        for fraud in ["fay", "gus", "hal"] {
            #expect(log.lines.contains { $0.hasPrefix("\(fraud) next: 75 error: \(fraud)'s work in queue crowd is paused for review: your ") }, "\(log.lines)")
        }
        let watch = try CLI.run(["watch", "--queue", "crowd", "--json"], in: scratch.path)
        #expect(watch.exitCode == 0, "\(watch.stderr)")
        let report = try Self.decoder.decode(WatchReport.self, from: Data(watch.stdout.utf8))
        #expect(report.blocked == ["fay", "gus", "hal"])
        #expect(report.decisions.filter { $0.action == .block }.allSatisfy { $0.by == "policy" })
        for s in report.annotators where ["ana", "ben", "cleo", "dev", "eli"].contains(s.annotator) { #expect(s.verdict != "blocked", "\(s)") }
        // queue show agrees with watch, and the export leaves the held answers out.
        let show = try CLI.run(["queue", "show", "crowd", "--json"], in: scratch.path)
        let shown = try #require(try JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as? [String: Any])
        #expect(shown["done"] as? Int == report.done && shown["answers"] as? Int == report.answers)
        #expect(try CLI.run(["queue", "export", "crowd", "--out", "answers.jsonl"], in: scratch.path).exitCode == 0)
        let exported = try String(contentsOfFile: scratch.path + "/answers.jsonl", encoding: .utf8)
        #expect(!exported.contains("annotator:gus") && !exported.contains("annotator:fay") && exported.contains("annotator:ana"))
        // Every item that is not gold has three counted answers, from those not blocked (gold items need one, and
        // are served only at the gold rate).
        let gold = Set(try String(contentsOfFile: scratch.path + "/gold.csv", encoding: .utf8).split(separator: "\n").dropFirst().map { String($0.split(separator: ",")[0]) })
        var answers: [String: Int] = [:]
        for line in exported.split(separator: "\n") {
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let path = object["path"] as? String,
                  let labels = object["labels"] as? [Any] else { continue }
            answers[path] = labels.count
        }
        let short = truth.keys.filter { !gold.contains($0) && answers[$0, default: 0] < 3 }
        #expect(short.isEmpty, "items without three counted answers: \(short.sorted().prefix(5))")
    }

    /// The lead's verbs: a policy file with a mistake is refused naming its line; block and unblock by hand, with
    /// the annotator told why; decisions listed by queue show.
    @Test func policiesBlocksAndUnblocksByHand() throws {
        let scratch = ScratchDirectory()
        let truth = try Self.repository(scratch, count: 30, gold: 10)
        #expect(try CLI.run(["queue", "create", "q", "--paths", "images", "--gold", "gold.csv", "--gold-rate", "0.2"], in: scratch.path).exitCode == 0)
        scratch.write("bad.yaml", "rules:\n  - name: x\n    when: gold_accuracy_upper << 0.6\n    action: block\n")
        let bad = try CLI.run(["queue", "policy", "q", "bad.yaml"], in: scratch.path)
        #expect(bad.exitCode == 65 && bad.stderr == "error: bad.yaml:3: when: '<<' is not one of <, <=, >, >=\n", "\(bad.exitCode) \(bad.stderr)")
        scratch.write("bad2.yaml", "rules:\n  - when: speed < 1\n    action: block\n")
        #expect(try CLI.run(["queue", "policy", "q", "bad2.yaml"], in: scratch.path).stderr.hasPrefix("error: bad2.yaml:2: when: expected 'METRIC OP NUMBER' with a metric of gold_accuracy,"))
        scratch.write("bad3.yaml", "rules:\n  - when: answers > 1\n    action: ban\n")
        #expect(try CLI.run(["queue", "policy", "q", "bad3.yaml"], in: scratch.path).stderr == "error: bad3.yaml:3: action must be block or review\n")
        #expect(try CLI.run(["queue", "policy", "q", "--show"], in: scratch.path).stdout == "queue q has no vetting policy\n")
        let set = try CLI.run(["queue", "policy", "q", "--standard"], in: scratch.path)
        #expect(set.stdout == "queue q: vetting policy set (5 rules, adaptive gold)\n", "\(set.stderr)")
        #expect(try CLI.run(["queue", "policy", "q", "--show"], in: scratch.path).stdout == VettingPolicy.standardText)

        let next = try CLI.run(["queue", "next", "q", "--annotator", "ben", "--json"], in: scratch.path)
        let leased = try #require(try JSONSerialization.jsonObject(with: Data(next.stdout.utf8)) as? [String: String])
        let block = try CLI.run(["queue", "block", "q", "ben", "--reason", "testing the block", "--by", "lea"], in: scratch.path)
        #expect(block.exitCode == 0 && block.stdout.hasPrefix("blocked ben in queue q"), "\(block.stderr)")
        let refused = try CLI.run(["queue", "answer", "q", "--annotator", "ben", "--item", leased["item"]!, "--lease", leased["lease"]!, "--label", truth[leased["item"]!]!], in: scratch.path)
        #expect(refused.exitCode == 75 && refused.stderr.contains("ben's work in queue q is paused for review: testing the block"), "\(refused.stderr)")
        let paused = try CLI.run(["queue", "next", "q", "--annotator", "ben"], in: scratch.path)
        #expect(paused.exitCode == 75 && paused.stderr.hasPrefix("error: ben's work in queue q is paused for review: testing the block;"))
        let show = try CLI.run(["queue", "show", "q"], in: scratch.path)
        #expect(show.stdout.contains("decision: block ben by lea at ") && show.stdout.contains(": testing the block"))
        #expect(try CLI.run(["queue", "unblock", "q", "ben", "--by", "lea"], in: scratch.path).stdout.hasPrefix("unblocked ben in queue q"))
        #expect(try CLI.run(["queue", "next", "q", "--annotator", "ben"], in: scratch.path).exitCode == 0)
        #expect(try CLI.run(["queue", "unblock", "q", "ben"], in: scratch.path).stdout == "ben is neither blocked nor flagged for review in queue q\n")
        // A lead's decision stands: the policy leaves ben alone from now on (watch shows the decision).
        let watch = try Self.decoder.decode(WatchReport.self, from: Data(try CLI.run(["watch", "--queue", "q", "--json"], in: scratch.path).stdout.utf8))
        #expect(watch.decisions.map(\.action) == [.block, .unblock] && watch.policy)
        #expect(try CLI.run(["queue", "policy", "q", "--clear"], in: scratch.path).stdout == "queue q: vetting policy removed\n")
        let noTerminal = try CLI.run(["watch", "--queue", "q"], in: scratch.path)
        #expect(noTerminal.exitCode == 64 && noTerminal.stderr == "error: curate watch needs a terminal (stdin and stdout); --json prints the state once\n", "\(noTerminal.stderr)")
        #expect(try CLI.run(["watch", "--queue", "q", "--interval", "0"], in: scratch.path).exitCode == 64)
        let vet = try CLI.run(["queue", "vet", "q"], in: scratch.path)
        #expect(vet.exitCode == 65 && vet.stderr == "error: queue q has no vetting policy (curate queue policy q --standard)\n", "\(vet.stderr)")
    }
}
