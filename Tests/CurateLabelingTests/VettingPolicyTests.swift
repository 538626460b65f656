import CurateCore
@testable import CurateLabeling
import CurateStore
import Foundation
import Testing

@Suite struct VettingPolicyTests {
    @Test func theStandardPolicyReads() throws {
        let p = try VettingPolicy(yaml: VettingPolicy.standardText, source: "standard")
        #expect(p.rules.map(\.condition) == ["gold_accuracy_upper < 0.6", "one_class_run >= 20", "agreement_upper < 0.3", "speed_ratio < 0.25", "top_confusion >= 0.3"])
        #expect(p.rules.map(\.action) == [.block, .block, .block, .review, .review])
        #expect(p.rules[0].minGold == 10 && p.rules[2].minCompared == 30 && p.rules[3].minAnswers == 10 && p.rules[4].minAnswers == 50)
        #expect(p.adaptiveGold == VettingPolicy.AdaptiveGold(budget: 0.1, newRate: 0.3, minRate: 0.02, targetWidth: 0.1))
    }

    @Test(arguments: [
        ("rules: 3\n", "p.yaml:1: rules must be a list of rules (name, when, action)"),
        ("rules:\n  - when: gold_accuracy < x\n    action: block\n", "p.yaml:2: when: 'x' is not a number"),
        ("rules:\n  - when: gold_accuracy < 0.5\n", "p.yaml:2: a rule needs action: block or review"),
        ("rules:\n  - when: gold_accuracy < 0.5\n    action: review\n    min_gold: -1\n", "p.yaml:4: min_gold must be a whole number ≥ 0"),
        ("rules:\n  - when: gold_accuracy < 0.5\n    action: review\n    after: 3\n", "p.yaml:4: unknown key 'after' in a rule (expected name, when, action, min_answers, min_gold, min_compared)"),
        ("adaptive_gold:\n  budget: 2\n", "p.yaml:2: adaptive_gold: budget, new_rate and min_rate must be within [0, 1], with min_rate ≤ new_rate"),
        ("gold: 1\n", "p.yaml:1: unknown key 'gold' (expected rules, adaptive_gold, honest_confusion_guard)"),
        ("rules: []\n", "p.yaml: the policy has no rules and no adaptive_gold"),
        ("- a\n", "p.yaml: expected a mapping with rules (and adaptive_gold)"),
    ])
    func mistakesNameTheLine(_ text: String, _ message: String) {
        #expect { _ = try VettingPolicy(yaml: text, source: "p.yaml") } throws: { "\($0)" == message }
    }

    /// Wilson 95% intervals as statsmodels' proportion_confint(method="wilson") gives them.
    @Test func wilsonIntervals() {
        for (k, n, lo, hi) in [(1, 10, 0.017876, 0.404150), (9, 10, 0.595850, 0.982124), (0, 10, 0.0, 0.277533), (45, 50, 0.786398, 0.956529)] {
            let (l, h) = Wilson.interval(k, n)
            #expect(abs(l - lo) < 1e-5 && abs(h - hi) < 1e-5, "\(k)/\(n): \(l) \(h)")
        }
        #expect(Wilson.interval(0, 0) == (0, 1))
    }

    static func answer(_ who: String, _ path: String, _ label: String, gold: String? = nil, seconds: Double = 4, at t: Double) -> QueueAnswer {
        var a = QueueAnswer(path: path, annotator: who, answer: "{\"class\":\"\(label)\"}", seconds: seconds, created: Date(timeIntervalSince1970: t), isGold: gold != nil)
        a.goldAnswer = gold.map { "{\"class\":\"\($0)\"}" }
        return a
    }

    /// An annotator who reads 0 as 1 every time and is right on the other classes fails a strict gold rule, yet is
    /// sent to review (an honest systematic confusion); one who answers at random on the same items is blocked.
    @Test func anHonestConfusionIsReviewedNotBlocked() throws {
        let policy = try VettingPolicy(yaml: "rules:\n  - name: strict\n    when: gold_accuracy_upper < 0.95\n    min_gold: 10\n    action: block\n", source: "strict")
        var monitor = TeamMonitor(queue: "q", overlap: 1)
        var rng = SplitMix64(seed: 4)
        for i in 0..<40 {
            let truth = String(i % 4)
            monitor.add(Self.answer("eve", "g\(i)", truth == "0" ? "1" : truth, gold: truth, at: Double(i)))
            monitor.add(Self.answer("rex", "g\(i)", String(rng.next() % 4), gold: truth, at: Double(i)))
        }
        let eve = monitor.judge("eve", policy: policy)
        #expect(eve.action == .review)
        #expect(eve.evidence.last?.hasPrefix("reads 0 as 1 (10 times), right on 100% of the other classes: an honest systematic confusion") == true, "\(eve.evidence)")
        #expect(monitor.judge("rex", policy: policy).action == .block)
        #expect(monitor.standing("eve", policy: policy).verdict == "review")
        #expect(monitor.standing("rex", policy: policy).verdict == "likely spam")
    }

    /// Following a store change by change ends where reading everything at once does: undos, blocks and unblocks
    /// included.
    @Test func followingIncrementallyEqualsReadingOnce() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("vet-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let store = try SQLiteStore.open(curateDirectory: scratch)
        let q = SimulatedCrowd.queue(name: "q", items: 60, gold: 10, overlap: 2, goldRate: 0.2, policy: nil, seed: 9)
        try store.createQueue(q.spec, items: q.items)
        var live = TeamMonitor(queue: "q", overlap: 2)
        var rng = SplitMix64(seed: 10)
        let people = SimulatedCrowd.annotators
        var steps = 0
        while steps < 400 {
            let a = people[Int(rng.next() % UInt64(people.count))]
            steps += 1
            switch rng.next() % 20 {
            case 0: _ = try? store.undoLastAnswer("q", annotator: a.name)
            case 1: _ = try store.recordDecision("q", QueueDecision(annotator: a.name, action: .block, reason: "test", by: "lead"))
            case 2: _ = try store.recordDecision("q", QueueDecision(annotator: a.name, action: .unblock, reason: "test", by: "lead"))
            default:
                guard let item = try store.leaseNext("q", annotator: a.name) else { continue }
                let (label, seconds) = SimulatedCrowd.answer(a, truth: q.truth[item.path]!, rng: &rng)
                try store.storeAnswer("q", path: item.path, annotator: a.name, answer: "{\"class\":\"\(label)\"}", seconds: seconds, lease: item.lease!)
            }
            if steps % 7 == 0 { try live.follow(store) }
        }
        try live.follow(store)
        var once = TeamMonitor(queue: "q", overlap: 2)
        try once.follow(store)
        let policy = Watch.defaultPolicy
        let now = Date()
        #expect(live.standings(policy: policy, now: now) == once.standings(policy: policy, now: now))
        #expect((live.doneItems, live.answersNeeded, live.answers, live.blocked) == (once.doneItems, once.answersNeeded, once.answers, once.blocked))
        #expect(live.disagreedClasses(limit: 10).map { "\($0)" } == once.disagreedClasses(limit: 10).map { "\($0)" })
        let summary = try store.queueSummary("q")
        #expect(live.doneItems == summary.done && live.answers == summary.answers)
    }

    /// Adaptive gold: new annotators get new_rate, those whose accuracy is known to ±target_width get min_rate, and
    /// everyone is scaled down while the queue's gold share is over the budget.
    @Test func adaptiveGoldFollowsCertainty() {
        let g = VettingPolicy.AdaptiveGold(budget: 0.1, newRate: 0.3, minRate: 0.02, targetWidth: 0.1)
        var monitor = TeamMonitor(queue: "q", overlap: 1)
        #expect(monitor.goldRate("new", g) == 0.3)
        for i in 0..<100 { monitor.add(Self.answer("old", "g\(i)", "1", gold: "1", at: Double(i))) }   // 100 gold, all right
        for i in 0..<900 { monitor.add(Self.answer("old", "x\(i)", "1", at: Double(100 + i))) }
        #expect(monitor.goldRate("old", g) == 0.02)
        for i in 0..<5 { monitor.add(Self.answer("mid", "g\(i)", i < 4 ? "1" : "2", gold: "1", at: Double(i))) }
        let mid = monitor.goldRate("mid", g)
        #expect(mid > 0.02 && mid < 0.3)
        // 105 gold answers in 1005: under the budget. Many more gold answers push the share over it: rates shrink.
        for i in 0..<400 { monitor.add(Self.answer("eager", "g\(i)", "1", gold: "1", at: Double(i))) }
        #expect(monitor.goldRate("new", g) < 0.3 * 0.1 / 0.3 + 0.001)
    }
}
