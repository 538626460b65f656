import CurateTestSupport
import CurateStore
import Foundation
import Testing

@Suite struct RouteCommandTests {
    /// 300 digits, 200 labeled by people: `curate route --learner` end to end — dry run, auto-accept, human queue
    /// with overlap, spam annotators shut out, adjudication of disagreements by experts, audits and the report.
    @Test func routeTheDigitsEndToEnd() throws {
        let scratch = ScratchDirectory()
        let all = try scratch.copyDigits(500)
        let truth = Dictionary(uniqueKeysWithValues: all.map { ($0.path, $0.label) })
        // The last 200 arrive later (a new batch): kept aside for now.
        let digits = Array(all.prefix(300)), later = Array(all.dropFirst(300))
        for d in later {
            try FileManager.default.createDirectory(atPath: scratch.path + "/later/" + (d.path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try FileManager.default.moveItem(atPath: scratch.path + "/" + d.path, toPath: scratch.path + "/later/" + d.path)
        }
        scratch.write("labels.csv", "path,label\n" + digits.prefix(200).map { "\($0.path),\($0.label)\n" }.joined())
        let crowd = TestFixtures.repoPath("datasets/digits/crowd.jsonl"), gold = TestFixtures.repoPath("datasets/digits/gold.csv")
        scratch.write("policy.yaml", """
            model: digits-lr@1
            target_accuracy: 0.95
            min_validation: 10
            penalty: 0.25
            human: {queue: human, overlap_if_margin_below: 0.3, overlap_when_uncertain: 2}
            adjudication: {queue: experts}
            audit: {rate: 0.2}
            annotators: {labels: \(crowd), gold: \(gold)}
            """)
        func run(_ args: [String]) throws -> CLIResult {
            let r = try CLI.run(args, in: scratch.path)
            #expect(r.exitCode == 0, "\(args): \(r.stderr)")
            return r
        }
        for args in [["init"], ["add", "images", "--labels", "labels.csv", "--format", "csv"], ["commit", "-m", "d", "--author", "t"],
                     ["queue", "create", "human", "--empty"]] { _ = try run(args) }

        // A policy naming a queue that does not exist: nothing routed.
        let missing = try CLI.run(["route", "--learner", "--policy", "policy.yaml"], in: scratch.path)
        #expect(missing.exitCode == 65 && missing.stderr.contains("policy policy.yaml names queue experts, which does not exist (curate queue create experts --empty); nothing routed"))
        _ = try run(["queue", "create", "experts", "--empty", "--annotators", "ana"])

        // Dry run: the plan, and nothing changes.
        let dry = try run(["route", "--learner", "--policy", "policy.yaml", "--dry-run", "--json"])
        let plan = try JSONSerialization.jsonObject(with: Data(dry.stdout.utf8)) as! [String: Any]
        let accepted = plan["accepted"] as! Int, human = plan["human"] as! Int
        #expect(accepted > 0 && accepted + human == 100, "\(dry.stdout)")
        #expect((plan["likely_spam"] as! [String]) == ["fay", "gus", "hal"] && (plan["dry_run"] as! Bool))
        #expect(try run(["queue", "show", "human"]).stdout.contains("0 of 0 items done"))
        #expect(try run(["status"]).stdout.contains("nothing to commit"))

        // The run: auto-accepted labels staged with the model as source, the rest queued; a second run routes nothing new.
        let routed = try run(["route", "--learner", "--policy", "policy.yaml"])
        #expect(routed.stdout.contains("auto-accepted: \(accepted) items labeled model:digits-lr@1"))
        _ = try run(["commit", "-m", "routed", "--author", "route"])
        let exported = try run(["labels", "export", "--format", "jsonl", "--out", "all.jsonl"])
        _ = exported
        let exportedText = try String(contentsOfFile: scratch.path + "/all.jsonl", encoding: .utf8)
        #expect(exportedText.components(separatedBy: "model:digits-lr@1").count - 1 == accepted)
        let again = try run(["route", "--learner", "--policy", "policy.yaml", "--json"])
        let second = try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as! [String: Any]
        #expect(second["accepted"] as! Int == 0 && second["human"] as! Int == 0)
        // Right after routing nothing is audited yet: the report says so instead of an accuracy of 0 in [0, 1].
        let early = try run(["route", "report"]).stdout
        #expect(early.contains("no audits answered yet: ") && early.contains("waiting in the audit queue") && !early.contains("[0.000, 1.000]"), "\(early)")

        // People answer: spam annotators get nothing; each item gets its overlap from different annotators;
        // ben, first to ask, answers "0" to everything, so overlap-2 items where ana differs are disagreements and
        // his answers to the audits contradict the model.
        let repo = try SQLiteStore.open(curateDirectory: scratch.path + "/.curate")
        #expect(try repo.leaseNext("human", annotator: "fay") == nil)
        var answered: [String: [String]] = [:]
        for annotator in ["ben", "ana", "cy"] {
            while let item = try repo.leaseNext("human", annotator: annotator) {
                let label = annotator == "ben" ? "0" : truth[item.path]!
                try repo.storeAnswer("human", path: item.path, annotator: annotator, answer: #"{"class":"\#(label)"}"#, seconds: 2, lease: item.lease!)
                answered[item.path, default: []].append(annotator)
            }
        }
        let state = try repo.routeState()
        let queuedHuman = state.items.values.filter { $0.decision == .human }
        #expect(queuedHuman.count == human)
        let answers = try repo.queueAnswers("human")
        #expect(Set(answers.map(\.path)).count == answered.count && answers.count == answered.values.map(\.count).reduce(0, +))
        for (path, who) in answered { #expect(Set(who).count == who.count && who.count <= 2, "\(path): \(who)") }
        // Every item reached its overlap (1, or 2 where the margin was small), and some needed 2.
        let done = try repo.queueSummary("human")
        #expect(done.done == done.items && answered.values.contains { $0.count == 2 } && answered.values.contains { $0.count == 1 })
        let disagreements = answered.filter { path, who in who.count == 2 && who.contains("ben") && truth[path] != "0" }.count
        // Adjudication: the next route run sends the disagreements to the experts' queue, which only ana works.
        let adjudicated = try run(["route", "--learner", "--policy", "policy.yaml"])
        #expect(adjudicated.stdout.contains("adjudication: \(disagreements) items whose annotators disagree → experts"), "\(adjudicated.stdout)")
        #expect(try CLI.run(["queue", "next", "experts", "--annotator", "ben"], in: scratch.path).stderr.contains("queue experts is worked by ana only, not ben"))
        // Audits, measured without suspending anything yet.
        let report = try run(["route", "report", "--json", "--dry-run"])
        let audit = try JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as! [String: Any]
        let overall = audit["overall"] as! [String: Any]
        #expect(overall["audited"] as! Int > 0 && (overall["high"] as! Double) >= (overall["accuracy"] as! Double))
        #expect(try run(["route", "report"]).stdout.contains("audits of auto-accepted labels:"))
        // The audit gate: more than one audited item, so the lower bound of the interval is below 1.
        let gate = try CLI.run(["route", "report", "--dry-run", "--fail-on", "low<0.9999"], in: scratch.path)
        #expect(gate.exitCode == 65 && gate.stderr.contains("gate failed: low is ") && gate.stderr.contains("the gate fails at low<0.9999"), "\(gate.stderr)")
        let unknownMetric = try CLI.run(["route", "report", "--dry-run", "--fail-on", "alpha<0.5"], in: scratch.path)
        #expect(unknownMetric.exitCode == 65 && unknownMetric.stderr.contains("this command does not measure 'alpha' (it measures: accuracy, audited, high, low, suspended)"), "\(unknownMetric.stderr)")
        // Audits that contradict the model: its classes are suspended, and the next batch's items of those classes
        // go to people instead of being auto-accepted.
        // (ben answered first, so every audited item carries his "0".)
        let wrong = try run(["route", "report", "--json"])
        let suspended = (try JSONSerialization.jsonObject(with: Data(wrong.stdout.utf8)) as! [String: Any])["suspended"] as! [String]
        #expect(!suspended.isEmpty && !suspended.contains("0"), "\(wrong.stdout)")
        for d in later { try FileManager.default.moveItem(atPath: scratch.path + "/later/" + d.path, toPath: scratch.path + "/" + d.path) }
        // People label a random sample of the new batch for validation (the old validation items are retired).
        scratch.write("batch2.csv", "path,label\n" + later.prefix(140).map { "\($0.path),\($0.label)\n" }.joined())
        _ = try run(["add", "images", "--labels", "batch2.csv", "--format", "csv"])
        _ = try run(["commit", "-m", "batch 2", "--author", "t"])
        let batch = try JSONSerialization.jsonObject(with: Data(try run(["route", "--learner", "--policy", "policy.yaml", "--dry-run", "--json"]).stdout.utf8)) as! [String: Any]
        #expect(batch["suspended_classes"] as! [String] == suspended)
        #expect(batch["suspended_to_human"] as! Int > 0, "\(batch)\n\(wrong.stdout)")
        #expect(batch["accepted"] as! Int + (batch["human"] as! Int) == 60 && batch["validation"] as! Int >= 30)
    }

    /// Bad input: clear one-line errors, nothing routed.
    @Test func badInput() throws {
        let scratch = ScratchDirectory()
        let digits = try scratch.copyDigits(20)
        scratch.write("labels.csv", "path,label\n" + digits.prefix(10).map { "\($0.path),\($0.label)\n" }.joined())
        for args in [["init"], ["add", "images", "--labels", "labels.csv", "--format", "csv"], ["commit", "-m", "d", "--author", "t"], ["queue", "create", "human", "--empty"]] {
            #expect(try CLI.run(args, in: scratch.path).exitCode == 0)
        }
        let uniform = (0..<10).map { _ in "0.1" }.joined(separator: ",")
        scratch.write("preds.jsonl", #"{"item": "\#(digits[12].path)", "probs": [\#(uniform)]}"# + "\n" + #"{"item": "images/9/nope.png", "probs": [\#(uniform)]}"# + "\n")
        let unknown = try CLI.run(["route", "--predictions", "preds.jsonl", "--policy", "missing.yaml"], in: scratch.path)
        #expect(unknown.exitCode == 66 && unknown.stderr.contains("missing.yaml: no such file"))
        let item = try CLI.run(["route", "--predictions", "preds.jsonl"], in: scratch.path)
        #expect(item.exitCode == 65 && item.stderr.contains("preds.jsonl: prediction for images/9/nope.png, which is not a tracked file at HEAD; nothing routed"), "\(item.stderr)")
        let target = try CLI.run(["route", "--predictions", "preds.jsonl", "--target-accuracy", "1.2"], in: scratch.path)
        #expect(target.exitCode == 65 && target.stderr.contains("target accuracy 1.2 is outside (0, 1)"))
        scratch.write("short.jsonl", #"{"item": "\#(digits[12].path)", "probs": [0.5, 0.5]}"# + "\n")
        let shape = try CLI.run(["route", "--predictions", "short.jsonl"], in: scratch.path)
        #expect(shape.exitCode == 65 && shape.stderr.contains("short.jsonl: 2 columns, but the schema has 10 classes"))
        scratch.write("nan.jsonl", #"{"item": "\#(digits[12].path)", "probs": [NaN, 0.5, 0.5, 0, 0, 0, 0, 0, 0, 0]}"# + "\n")
        let nan = try CLI.run(["route", "--predictions", "nan.jsonl"], in: scratch.path)
        #expect(nan.exitCode == 65 && nan.stderr.contains("nan.jsonl:1: not a JSON object"), "\(nan.stderr)")
        scratch.write("sum.jsonl", #"{"item": "\#(digits[12].path)", "probs": [0.9, 0.5, 0.5, 0, 0, 0, 0, 0, 0, 0]}"# + "\n")
        let sum = try CLI.run(["route", "--predictions", "sum.jsonl"], in: scratch.path)
        #expect(sum.exitCode == 65 && sum.stderr.contains("sum.jsonl: row 1 (\(digits[12].path)): probabilities sum to 1.9, not 1"), "\(sum.stderr)")
        scratch.write("one.jsonl", #"{"item": "\#(digits[12].path)", "probs": [\#(uniform)]}"# + "\n")
        scratch.write("batch.jsonl", "not json\n")
        let batch = try CLI.run(["route", "--predictions", "one.jsonl", "--batch", "batch.jsonl"], in: scratch.path)
        #expect(batch.exitCode == 65 && batch.stderr.contains("batch.jsonl:1: expected {\"item\": PATH, …}"), "\(batch.stderr)")
        scratch.write("bad.yaml", "target_accuracy: 0.9\nhuman: {queue: human, speed: 3}\n")
        let policy = try CLI.run(["route", "--predictions", "preds.jsonl", "--policy", "bad.yaml"], in: scratch.path)
        #expect(policy.exitCode == 65 && policy.stderr.contains("bad.yaml:2: unknown key 'human.speed'"))
        // Nothing was routed by any of them.
        let report = try CLI.run(["route", "report"], in: scratch.path)
        #expect(report.exitCode == 65 && report.stderr.contains("no routing runs yet"))
        #expect(try CLI.run(["queue", "show", "human"], in: scratch.path).stdout.contains("0 of 0 items done"))
    }
}
