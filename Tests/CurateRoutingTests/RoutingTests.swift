@testable import CurateRouting
import CurateTestSupport
import Foundation
import Testing

@Suite struct RoutingTests {
    struct Fixture: Decodable {
        struct Case: Decodable {
            var confidences: [Double]; var correct: [Bool]; var target: Double; var penalty: Double; var minimum: Int
            var expected: Threshold?
        }
        struct Wilson: Decodable { var successes: Int; var trials: Int; var low: Double; var high: Double }
        var thresholds: [Case]
        var wilson: [Wilson]
    }
    static let fixture = try! JSONDecoder().decode(Fixture.self, from: Data(contentsOf: URL(fileURLWithPath: TestFixtures.path("CurateRouting", "routing.json"))))

    /// The threshold equals the NumPy reference (scripts/make_routing_fixtures.py), including cases where none passes.
    @Test func thresholdMatchesTheReference() {
        for (i, c) in Self.fixture.thresholds.enumerated() {
            let t = Calibration.choose(confidences: c.confidences, correct: c.correct, target: c.target, penalty: c.penalty, minimum: c.minimum)
            #expect(t?.value == c.expected?.value && t?.covered == c.expected?.covered && t?.errors == c.expected?.errors, "case \(i): \(String(describing: t)) vs \(String(describing: c.expected))")
            if let t, let e = c.expected { #expect(abs(t.bound - e.bound) < 1e-12) }
        }
        #expect(Self.fixture.thresholds.contains { $0.expected == nil } && Self.fixture.thresholds.contains { $0.expected != nil })
    }

    @Test func wilsonMatchesStatsmodels() {
        for w in Self.fixture.wilson {
            let (low, high) = wilsonInterval(successes: w.successes, trials: w.trials)
            #expect(abs(low - w.low) < 1e-12 && abs(high - w.high) < 1e-12, "\(w.successes)/\(w.trials): [\(low), \(high)] vs [\(w.low), \(w.high)]")
        }
    }

    /// Ten validation items the model gets right at 0.9+, a wrong one at 0.8: the threshold sits above the error.
    func scores() -> (ids: [String], probs: [Double], human: [String: Int]) {
        var ids: [String] = [], probs: [Double] = [], human: [String: Int] = [:]
        for i in 0..<40 {   // validation: right with confidence 0.9…0.99, wrong at 0.8 and 0.75
            let p = i < 38 ? 0.9 + Double(i % 10) / 100 : (i == 38 ? 0.8 : 0.75)
            ids.append("v\(i)"); probs += [p, 1 - p]; human["v\(i)"] = i < 38 ? 0 : 1
        }
        for (i, p) in [0.97, 0.93, 0.85, 0.55, 0.51].enumerated() { ids.append("u\(i)"); probs += [1 - p, p] }   // unlabeled, class 1
        return (ids, probs, human)
    }

    @Test func planAcceptsRoutesRetiresAndQuestionsPeople() throws {
        let (ids, probs, human) = scores()
        var policy = RoutingPolicy()
        policy.minValidation = 10
        policy.penalty = 0.25   // 38 right of 38: 0 + 0.25·√(1/38) ≤ 0.05
        policy.uncertainMargin = 0.2
        policy.uncertainOverlap = 3
        let plan = Router.plan(ids: ids, probabilities: probs, classes: 2, humanLabels: human, policy: policy)
        let t = try #require(plan.thresholds[0] ?? nil)
        #expect(t.value == 0.9 && t.covered == 38 && t.errors == 0)
        #expect(plan.accepted.map { ids[$0.row] } == ["u0", "u1"] && plan.accepted.allSatisfy { $0.classIndex == 1 })
        // Most uncertain first; the 0.51 and 0.55 items have margins below 0.2: overlap 3.
        #expect(plan.human.map { ids[$0.row] } == ["u4", "u3", "u2"])
        #expect(plan.human.map(\.overlap) == [3, 3, 1])
        #expect(plan.retire.count == 38 && plan.secondOpinions.isEmpty && plan.validationItems == 40)
        // Retired items are not validation any more: the next run has only the two below the threshold, and no threshold.
        let next = Router.plan(ids: ids, probabilities: probs, classes: 2, humanLabels: human, retired: Set(plan.retire.map { ids[$0] }),
                               routed: Set(plan.accepted.map { ids[$0.row] } + plan.human.map { ids[$0.row] }), policy: policy)
        #expect(next.validationItems == 2 && next.thresholds[0]! == nil && next.accepted.isEmpty && next.human.isEmpty && next.skipped == 5)
    }

    @Test func perClassSuspensionCommitteeAuditsAndSecondOpinions() {
        var (ids, probs, human) = scores()
        human["v5"] = 1   // a person says 1 where the model is 95% sure of 0: a second opinion
        var policy = RoutingPolicy()
        policy.minValidation = 10
        policy.penalty = 0.1   // one error in 38 at 0.9+: 0.026 + 0.1·√(1/38) ≤ 0.05
        policy.perClass = true
        policy.auditRate = 1
        var plan = Router.plan(ids: ids, probabilities: probs, classes: 2, humanLabels: human, policy: policy)
        // Class 1 has no confident validation items: no threshold, nothing of class 1 auto-accepted.
        #expect(plan.thresholds[1]! == nil && plan.accepted.isEmpty && plan.human.count == 5)
        #expect(plan.secondOpinions.map { ids[$0.row] } == ["v5"] && plan.secondOpinions[0].humanClass == 1 && plan.secondOpinions[0].modelClass == 0)
        // Overall threshold, class 1 suspended: its items go to people.
        policy.perClass = false
        plan = Router.plan(ids: ids, probabilities: probs, classes: 2, humanLabels: human, suspended: [1], policy: policy)
        #expect(plan.accepted.isEmpty && plan.suspendedToHuman == 2 && plan.human.first { ids[$0.row] == "u0" }?.reason == "class suspended by audits")
        // Not suspended, audit rate 1: every accepted item is audited.
        plan = Router.plan(ids: ids, probabilities: probs, classes: 2, humanLabels: human, policy: policy)
        #expect(plan.audits.count == plan.accepted.count && plan.accepted.count == 2)
        // A committee that disagrees on u2 raises its overlap.
        let n = ids.count
        var committee = [Double]()
        for m in 0..<2 { for r in 0..<n { let p = ids[r] == "u2" ? (m == 0 ? 0.9 : 0.1) : probs[r * 2]; committee += [p, 1 - p] } }
        plan = Router.plan(ids: ids, probabilities: probs, classes: 2, committee: committee, humanLabels: human, policy: policy)
        #expect(plan.human.first { ids[$0.row] == "u2" }.map { ($0.overlap, $0.reason) } ?? (0, "") == (3, "committee disagrees"))
    }

    /// Audits: Wilson intervals per class; a class whose interval lies below the target is suspended.
    @Test func auditReportSuspendsAClassBelowTheTarget() {
        let good = [(model: Int, human: Int)](repeating: (0, 0), count: 60)
        let bad = [(model: Int, human: Int)](repeating: (1, 1), count: 20) + [(model: Int, human: Int)](repeating: (1, 0), count: 10)
        let report = AuditReport(audits: good + bad, classes: 2, target: 0.95)
        #expect(report.overall.audited == 90 && report.overall.correct == 80)
        let one = report.perClass.first { $0.classIndex == 1 }!
        let (low, high) = wilsonInterval(successes: 20, trials: 30)
        #expect(one.low == low && one.high == high && one.suspend && high < 0.95)
        #expect(report.perClass.first { $0.classIndex == 0 }!.suspend == false)
    }

    @Test func policyFilesAndTheirErrors() throws {
        let yaml = """
            model: digits-lr@2
            target_accuracy: 0.9
            per_class: true
            human: {queue: h, order: entropy, overlap_if_margin_below: 0.1}
            adjudication: {queue: experts}
            audit: {rate: 0.1}
            """
        let p = try RoutingPolicy(yaml: yaml, file: "p.yaml")
        #expect(p.modelSource == ("digits-lr", "2") && p.targetAccuracy == 0.9 && p.perClass && p.order == "entropy")
        #expect(p.auditQueue == "h" && p.queues == ["h", "experts"] && p.uncertainMargin == 0.1)
        func message(_ text: String) -> String {
            do { _ = try RoutingPolicy(yaml: text, file: "p.yaml"); return "" } catch { return error.message }
        }
        #expect(message("target_accuracy: 1.5") == "p.yaml: target accuracy 1.5 is outside (0, 1)")
        #expect(message("model: m@1\nhuman: {queue: h, colour: red}") == "p.yaml:2: unknown key 'human.colour' (expected queue, order, overlap, overlap_if_margin_below, overlap_when_uncertain, overlap_if_committee_disagrees)")
        #expect(message("targets: 3") .hasPrefix("p.yaml:1: unknown key 'targets'"))
        #expect(message("audit: {rate: lots}") == "p.yaml:1: audit.rate must be a number")
        #expect(message("human: [1, 2]") == "p.yaml:1: human must be a mapping")
        #expect(message("a: [").hasPrefix("p.yaml: not valid YAML"))
    }
}

/// Attack 8 for routing policies: YAML aliases that would expand past the node bound are refused with the file named.
@Test func policyAliasBombsAreRefused() {
    var yaml = "x0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
    for k in 1...6 { yaml += "x\(k): &a\(k) [" + Array(repeating: "*a\(k - 1)", count: 10).joined(separator: ", ") + "]\n" }
    #expect(throws: RoutingError.self) { try RoutingPolicy(yaml: yaml, file: "bomb.yaml") }
    do { _ = try RoutingPolicy(yaml: yaml, file: "bomb.yaml") } catch {
        #expect(error.message == "bomb.yaml: has more than 10000 YAML nodes once its aliases are expanded; write it out without so many aliases")
    }
}
