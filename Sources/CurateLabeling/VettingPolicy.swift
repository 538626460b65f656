import CurateCore
import Foundation
import Yams

/// A queue's vetting policy: rules that block or flag annotators while they work, and how many gold items each
/// one sees. Stored with the queue (`curate queue policy Q FILE`), so every session on every machine applies the
/// same one.
///
/// ```yaml
/// rules:
///   - name: fails the test items
///     when: gold_accuracy_upper < 0.6   # upper bound of the 95% Wilson interval
///     min_gold: 10
///     action: block
///   - name: one class for everything
///     when: one_class_run >= 20
///     action: block
///   - name: faster than anyone can look
///     when: speed_ratio < 0.25
///     min_answers: 10
///     action: review
/// adaptive_gold:
///   budget: 0.1        # the queue's share of gold answers, overall
///   new_rate: 0.3      # an annotator with no gold answers yet
///   min_rate: 0.02     # an annotator whose accuracy is known to ±target_width
///   target_width: 0.1
/// ```
///
/// Metrics (each annotator, from the answers so far): `gold_accuracy`, `gold_accuracy_lower`, `gold_accuracy_upper`
/// (answers equal to gold items' answers; Wilson 95% bounds); `agreement`, `agreement_lower`, `agreement_upper` (share
/// of answer pairs with other annotators on the same items that agree); `one_class_run` (the latest run of one
/// answer repeated, counted only while the items of the run that others or gold answered contradict it at least as
/// often as they confirm it, on at least 3 of them); `speed_ratio` (median seconds ÷ the rest of the team's);
/// `top_confusion` (the largest share of one class read as another, over classes with at least 10 references and
/// pairs seen 4 times or more);
/// `answers`, `gold_answers`, `compared`.
///
/// A block never lands on an honest systematic confusion: when an annotator's errors are concentrated in one or two
/// (class → answer) pairs and they are accurate on the other classes, the block becomes a review.
package struct VettingPolicy: Sendable, Equatable {
    package enum Metric: String, Sendable, CaseIterable {
        case goldAccuracy = "gold_accuracy", goldAccuracyLower = "gold_accuracy_lower", goldAccuracyUpper = "gold_accuracy_upper"
        case agreement, agreementLower = "agreement_lower", agreementUpper = "agreement_upper"
        case oneClassRun = "one_class_run", speedRatio = "speed_ratio", topConfusion = "top_confusion"
        case answers, goldAnswers = "gold_answers", compared
    }
    package enum Comparison: String, Sendable, CaseIterable {
        case less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
        func holds(_ a: Double, _ b: Double) -> Bool {
            switch self { case .less: a < b; case .lessOrEqual: a <= b; case .greater: a > b; case .greaterOrEqual: a >= b }
        }
    }
    package struct Rule: Sendable, Equatable {
        package var name: String
        package var metric: Metric
        package var comparison: Comparison
        package var threshold: Double
        /// At least this many answers, gold answers and compared pairs before the rule may fire.
        package var minAnswers = 0, minGold = 0, minCompared = 0
        /// `block` or `review`.
        package var action: QueueDecisionAction

        package var condition: String { "\(metric.rawValue) \(comparison.rawValue) \(VettingPolicy.number(threshold))" }
    }
    /// Gold items served to each annotator by how well their accuracy is known, within a queue-wide budget.
    package struct AdaptiveGold: Sendable, Equatable {
        package var budget = 0.1
        package var newRate = 0.3
        package var minRate = 0.02
        package var targetWidth = 0.1
    }

    package var rules: [Rule]
    package var adaptiveGold: AdaptiveGold?
    /// Whether a block on an honest systematic confusion becomes a review (`honest_confusion_guard`, default true;
    /// false only to compare with rules that have no such guard).
    package var guardsHonestConfusion = true

    /// The rules of the issue that asked for live vetting, and adaptive gold at the queue's rate: what
    /// `curate queue policy Q --standard` stores.
    package static let standardText = """
        # Curate's standard vetting policy (curate queue policy QUEUE --standard).
        rules:
          - name: fails the test items
            when: gold_accuracy_upper < 0.6
            min_gold: 10
            action: block
          - name: one class for everything
            when: one_class_run >= 20
            action: block
          - name: agrees with no one
            when: agreement_upper < 0.3
            min_compared: 30
            action: block
          - name: faster than anyone can look
            when: speed_ratio < 0.25
            min_answers: 10
            action: review
          - name: reads one class as another
            when: top_confusion >= 0.3
            min_answers: 50
            action: review
        adaptive_gold:
          budget: 0.1
          new_rate: 0.3
          min_rate: 0.02
          target_width: 0.1

        """

    package init(rules: [Rule], adaptiveGold: AdaptiveGold?) {
        self.rules = rules
        self.adaptiveGold = adaptiveGold
    }

    static func number(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e9 ? String(Int(x)) : String(x) }

    /// Reads a policy; errors name `source`, the line and the problem.
    package init(yaml: String, source: String) throws(InputError) {
        let root: Node?
        do { root = try BoundedYAML.compose(yaml) } catch { throw InputError("\(source): \(error)") }
        guard let mapping = root?.mapping else { throw InputError("\(source): expected a mapping with rules (and adaptive_gold)") }
        func line(_ node: Node) -> Int { (node.mark?.line ?? 0) }
        func fail(_ node: Node, _ message: String) -> InputError { InputError("\(source):\(line(node)): \(message)") }
        func number(_ key: String, _ v: Node) throws(InputError) -> Double {
            guard let x = v.float, x.isFinite else { throw fail(v, "\(key) must be a number") }
            return x
        }
        func count(_ key: String, _ v: Node) throws(InputError) -> Int {
            guard let x = v.int, x >= 0 else { throw fail(v, "\(key) must be a whole number ≥ 0") }
            return x
        }
        var rules: [Rule] = []
        var gold: AdaptiveGold?
        for (k, v) in mapping {
            switch k.string ?? "" {
            case "honest_confusion_guard":
                guard let b = v.bool else { throw fail(v, "honest_confusion_guard must be true or false") }
                guardsHonestConfusion = b
            case "rules":
                guard let list = v.sequence else { throw fail(v, "rules must be a list of rules (name, when, action)") }
                for node in list {
                    guard let m = node.mapping else { throw fail(node, "a rule must be a mapping (name, when, action, min_answers, min_gold, min_compared)") }
                    var name: String?, when: (Metric, Comparison, Double)?, action: QueueDecisionAction?
                    var minimum = (answers: 0, gold: 0, compared: 0)
                    for (rk, rv) in m {
                        let key = rk.string ?? "?"
                        switch key {
                        case "name": name = rv.string
                        case "when":
                            let parts = (rv.string ?? "").split(separator: " ").map(String.init)
                            guard parts.count == 3, let metric = Metric(rawValue: parts[0]) else {
                                throw fail(rv, "when: expected 'METRIC OP NUMBER' with a metric of \(Metric.allCases.map(\.rawValue).joined(separator: ", "))")
                            }
                            guard let op = Comparison(rawValue: parts[1]) else { throw fail(rv, "when: '\(parts[1])' is not one of <, <=, >, >=") }
                            guard let x = Double(parts[2]), x.isFinite else { throw fail(rv, "when: '\(parts[2])' is not a number") }
                            when = (metric, op, x)
                        case "action":
                            guard let a = rv.string.flatMap(QueueDecisionAction.init(rawValue:)), a == .block || a == .review else {
                                throw fail(rv, "action must be block or review")
                            }
                            action = a
                        case "min_answers": minimum.answers = try count(key, rv)
                        case "min_gold": minimum.gold = try count(key, rv)
                        case "min_compared": minimum.compared = try count(key, rv)
                        default: throw fail(rk, "unknown key '\(key)' in a rule (expected name, when, action, min_answers, min_gold, min_compared)")
                        }
                    }
                    guard let when else { throw fail(node, "a rule needs when: METRIC OP NUMBER") }
                    guard let action else { throw fail(node, "a rule needs action: block or review") }
                    rules.append(Rule(name: name ?? "\(when.0.rawValue) \(when.1.rawValue) \(Self.number(when.2))", metric: when.0, comparison: when.1,
                                      threshold: when.2, minAnswers: minimum.answers, minGold: minimum.gold, minCompared: minimum.compared, action: action))
                }
            case "adaptive_gold":
                guard let m = v.mapping else { throw fail(v, "adaptive_gold must be a mapping (budget, new_rate, min_rate, target_width)") }
                var g = AdaptiveGold()
                for (gk, gv) in m {
                    let key = gk.string ?? "?"
                    switch key {
                    case "budget": g.budget = try number(key, gv)
                    case "new_rate": g.newRate = try number(key, gv)
                    case "min_rate": g.minRate = try number(key, gv)
                    case "target_width": g.targetWidth = try number(key, gv)
                    default: throw fail(gk, "unknown key 'adaptive_gold.\(key)' (expected budget, new_rate, min_rate, target_width)")
                    }
                }
                guard [g.budget, g.newRate, g.minRate].allSatisfy({ (0...1).contains($0) }), g.minRate <= g.newRate else {
                    throw fail(v, "adaptive_gold: budget, new_rate and min_rate must be within [0, 1], with min_rate ≤ new_rate")
                }
                guard g.targetWidth > 0, g.targetWidth < 0.5 else { throw fail(v, "adaptive_gold: target_width must be within (0, 0.5)") }
                gold = g
            default: throw fail(k, "unknown key '\(k.string ?? "?")' (expected rules, adaptive_gold, honest_confusion_guard)")
            }
        }
        guard !rules.isEmpty || gold != nil else { throw InputError("\(source): the policy has no rules and no adaptive_gold") }
        self.rules = rules
        self.adaptiveGold = gold
    }
}
